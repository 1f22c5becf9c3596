"""Fillers: every method as one function of the masked crops, and the run of a filler over an evaluation set.

A filler maps ``(x_known (B, C, H, W), known (B, 1, H, W), seeds=None)`` to
fills ``(S, B, C, H, W)``: ``S`` samples per image (1 for a deterministic
method).  ``seeds``, one per image, seed the noise of each image's fills on
its own, so that the numbers depend neither on the batch nor on the other
methods run.  Fillers draw no progress bars: a ``bars(desc)`` factory, when
given, returns a context whose value is a ``progress(done, total)`` callback
(the command line's is :func:`inpaint.cli.progress.bars`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from functools import partial

import torch
from torch import Tensor

from ..baselines import BASELINES, CLASSICAL_METHODS, patchmatch
from ..checkpoint import Checkpoint
from ..fill import SamplerConfig, fill
from ..shards import unit_seed
from ..unet import LEARNED_METHODS
from .sets import EvalSet

__all__ = ["METHODS", "STOCHASTIC", "Filler", "Bars", "crop_seeds", "learned_filler", "classical_filler",
           "run_fills"]

METHODS = LEARNED_METHODS + CLASSICAL_METHODS
"""Every method the protocol scores: the learned ones (:data:`inpaint.unet.LEARNED_METHODS`, trained on the
texture) and the classical ones (:data:`inpaint.baselines.CLASSICAL_METHODS`)."""
STOCHASTIC = ("diffusion", "repaint")
"""Methods whose fills are drawn: they get ``samples`` fills per crop."""

Filler = Callable[..., Tensor]
"""(x_known (B, C, H, W), known (B, 1, H, W), seeds=None) -> fills (S, B, C, H, W)."""
Bars = Callable[[str], AbstractContextManager]
"""``bars(desc)`` -> a context manager whose value is a ``progress(done, total)`` callback (or None)."""


def no_bars(desc: str) -> AbstractContextManager:
    return nullcontext(None)


def crop_seeds(seed: int, texture: str, method: str, count: int) -> list[int]:
    """The seed of each crop's fills: :func:`inpaint.shards.unit_seed` of (seed, texture, method, crop index)."""
    return [unit_seed(seed, texture, method, i) for i in range(count)]


def learned_filler(ckpt: Checkpoint, sampler: SamplerConfig, samples: int, seed: int, device: str, *,
                   bars: Bars | None = None) -> Filler:
    """Fills of a trained model, ``samples`` per image (1 for regression).

    Called with ``seeds``, each image's noise comes from a generator of its
    own seed, whatever the batch; without, every call draws from one
    generator seeded with ``seed``, so the numbers depend on the batches.
    """
    net = ckpt.network(device=device)
    method = ckpt.config.method
    count = samples if method in STOCHASTIC else 1
    generator = torch.Generator(device).manual_seed(seed)
    bars = bars or no_bars

    def filler(x: Tensor, known: Tensor, seeds: list[int] | None = None) -> Tensor:
        noise = generator if seeds is None else [torch.Generator(device).manual_seed(s) for s in seeds]
        with bars(f"fill {method}") as progress, torch.inference_mode():
            out = fill(net, ckpt.config, x.to(device), known.to(device), sampler=sampler, samples=count,
                       generator=noise, progress=progress)
        return out.cpu()

    return filler


def classical_filler(method: str, seed: int) -> Filler:
    """A baseline of :data:`inpaint.baselines.BASELINES` as a one-sample filler."""
    base = partial(patchmatch, seed=seed) if method == "patchmatch" else BASELINES[method]
    return lambda x, known, seeds=None: base(x, known)[None]  # PatchMatch: ``seed`` before every image


def run_fills(filler: Filler, data: EvalSet, batch: int, seeds: list[int] | None = None) -> tuple[Tensor, float]:
    """All fills ``(S, N, C, H, W)`` of ``data`` and the wall time per fill in seconds; ``seeds``: one per crop."""
    t0 = time.perf_counter()
    batches = [(data.masked[i : i + batch], data.known[i : i + batch]) for i in range(0, len(data.truth), batch)]
    if seeds is None:
        outs = [filler(x, known) for x, known in batches]
    else:
        outs = [filler(x, known, seeds[i * batch : (i + 1) * batch]) for i, (x, known) in enumerate(batches)]
    outputs = torch.cat(outs, dim=1)
    return outputs, (time.perf_counter() - t0) / (outputs.shape[0] * outputs.shape[1])
