"""What every command shares: one-line errors instead of tracebacks, the device check, the common options."""

from __future__ import annotations

import functools

import click
import torch


class Interrupted(click.ClickException):
    """Ctrl-C: one line saying where the work stands, and exit status 130 (128 + SIGINT), as shells expect."""

    exit_code = 130


def friendly_errors(fn):
    """Turn library errors into one-line messages and a non-zero exit, never a traceback; Ctrl-C into
    :class:`Interrupted`."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, OSError, RuntimeError) as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            raise Interrupted("interrupted; nothing of the unfinished work was kept") from None

    return wrapper


def resolve_device(name: str) -> torch.device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise click.BadParameter("CUDA was asked for but no GPU is available", param_hint="--device")
    return torch.device(name)


# --- options and checks every command that writes or computes shares ----------------------------------------


def quiet_option(fn):
    return click.option("--quiet", "-q", is_flag=True, help="No progress bars and no messages but errors.")(fn)


def threads_option(fn):
    return click.option("--threads", type=click.IntRange(min=1), default=None,
                        help="CPU threads for torch [default: torch's choice, usually one per core].")(fn)


def set_threads(threads: int | None) -> None:
    if threads is not None:
        torch.set_num_threads(threads)


def overwrite_option(fn):
    return click.option("--overwrite", is_flag=True, help="Replace output files that exist.")(fn)


def check_overwrite(paths, overwrite: bool, param_hint: str = "--out") -> None:
    """The one overwrite rule: an output that exists is refused unless ``--overwrite``, before any work."""
    from pathlib import Path

    existing = [Path(p) for p in paths if Path(p).exists()]
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise click.BadParameter(f"{existing[0]}{more} exists; pass --overwrite to replace it", param_hint=param_hint)


def init_option(default: str):
    """The ``--init`` option of the commands that train, with ``default``."""
    return click.option("--init", default=default, show_default=True,
                        help="Weights training starts from: auto (the shipped texture prior where it fits the "
                             "network, else scratch), scratch, prior (diffusion only), or a checkpoint file.")


def check_init_option(value: str, methods) -> None:
    """'prior' fits the diffusion method only (fail before any training)."""
    from ..prior import PRIOR

    if value == PRIOR and any(m != "diffusion" for m in methods):
        raise click.BadParameter(f"the shipped prior is a diffusion model; it cannot start "
                                 f"{', '.join(m for m in methods if m != 'diffusion')}", param_hint="--init")
