"""What every command shares: one-line errors instead of tracebacks, and the device check."""

from __future__ import annotations

import functools

import click
import torch


def friendly_errors(fn):
    """Turn library errors into one-line messages and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, OSError, RuntimeError) as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def resolve_device(name: str) -> torch.device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise click.BadParameter("CUDA was asked for but no GPU is available", param_hint="--device")
    return torch.device(name)
