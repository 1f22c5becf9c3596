"""``inpaint serve``: start the local page (:mod:`inpaint.cli.server`) with uvicorn and print its address.

Starlette and uvicorn (the optional ``serve`` extra) are imported only when the
command runs, so ``inpaint --help`` and the other commands never need them.
"""

from __future__ import annotations

import socket

import click

from .common import friendly_errors, threads_option

__all__ = ["serve"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _framework():
    try:
        import starlette  # noqa: F401
        import uvicorn
    except ImportError as exc:
        raise click.ClickException(f"inpaint serve needs Starlette and uvicorn: pip install 'inpaint[serve]' ({exc})")
    return uvicorn


def user_models(values: tuple[str, ...]) -> dict[str, str]:
    """``--checkpoint`` values as {name: file}, every file loaded once now so that a bad one fails at start."""
    from pathlib import Path

    from ..checkpoint import load_checkpoint
    from ..shipped import model_names

    models: dict[str, str] = {}
    for value in values:
        name, _, file = value.rpartition("=") if "=" in value else (None, "", value)
        path = Path(file)
        if path.is_dir():  # a train-texture folder: its diffusion model
            path = path / "diffusion.pt"
        name = name or (path.parent.name if path.stem in ("diffusion", "regression", "repaint") else path.stem)
        if name in models or name in model_names():
            raise click.BadParameter(f"two models would be named {name!r}; name one with NAME=FILE",
                                     param_hint="--checkpoint")
        load_checkpoint(path)
        models[name] = str(path)
    return models


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 takes a free one (the address printed is the real one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise click.BadParameter(f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port",
                                 param_hint="--port") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@click.command("serve")
@click.argument("image", required=False)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port; 0 takes a free one.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but localhost exposes the page to the network.")
@click.option("--open", "open_browser", is_flag=True, help="Open the page in the default browser.")
@click.option("--max-pixels", type=click.IntRange(min=1), default=4096 * 4096, show_default=True,
              help="Largest image accepted, in pixels.")
@click.option("--max-mb", type=click.FloatRange(min=0, min_open=True), default=50, show_default=True,
              help="Largest upload accepted, in megabytes.")
@click.option("--checkpoint", "checkpoints", multiple=True,
              help="Offer this model on the page too: a checkpoint file (train-texture's), named by its file name, or "
                   "NAME=FILE. Repeatable.")
@click.option("--device", default="cpu", show_default=True, help="Where models fill and restores train: cpu or cuda.")
@threads_option
@friendly_errors
def serve(image, port, host, open_browser, max_pixels, max_mb, checkpoints, device, threads) -> None:
    """A local page to paint a hole in IMAGE, fill it, and compare methods.

    Open an image (or give IMAGE), paint the hole with the brush (or load a
    mask), fill it with PatchMatch, Telea or NS (instant), a shipped model
    (seconds) or restore (trains on the image itself for the minutes you
    give), compare up to four fills side by side and download the result in
    the image's own mode and bit depth. Listens on 127.0.0.1 unless --host is
    given; stop it with Ctrl-C.
    """
    uvicorn = _framework()
    from .common import set_threads
    from .server import Limits, create_app

    from .common import resolve_device

    set_threads(threads)
    resolve_device(device)
    limits = Limits(max_bytes=round(max_mb * 2**20), max_pixels=max_pixels)
    app = create_app(image=image, limits=limits, models=user_models(checkpoints), device=device)
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/"
    if host not in LOCAL_HOSTS:
        click.echo(f"warning: listening on {host}, not only on this machine: anyone who can reach it can upload "
                   "images and run fills; there is no login", err=True)
    click.echo(f"inpaint serve: {url}  (Ctrl-C stops it)")
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1))
    server.run(sockets=[sock])
