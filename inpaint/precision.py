"""The arithmetic of a training step: float32, or bfloat16 autocast where the hardware has it."""

from __future__ import annotations

import contextlib
from pathlib import Path

import torch


def choose_precision(precision: str, device: str | torch.device) -> str:
    """The concrete precision of ``precision`` on ``device``: 'auto' is 'bf16' on a GPU that supports it and on
    a CPU with bfloat16 instructions (AVX512-BF16 or AMX, where autocast about halves a step), else 'fp32'."""
    if precision != "auto":
        return precision
    device = torch.device(device)
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    return "bf16" if device.type == "cpu" and _cpu_has_bf16() else "fp32"


def _cpu_has_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: no cheap way to tell, and emulated bfloat16 is slower than float32
        return False
    return any(f in flags.split() for f in ("avx512_bf16", "amx_bf16"))


def autocast(precision: str, device: str | torch.device):
    """The autocast context of a training step in ``precision`` ('fp32': none)."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
