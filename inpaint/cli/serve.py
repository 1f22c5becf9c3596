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
@threads_option
@friendly_errors
def serve(image, port, host, open_browser, max_pixels, max_mb, threads) -> None:
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

    set_threads(threads)
    limits = Limits(max_bytes=round(max_mb * 2**20), max_pixels=max_pixels)
    app = create_app(image=image, limits=limits)
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
