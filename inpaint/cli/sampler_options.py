"""The sampling options of ``fill`` and ``restore``: names, defaults and help, with no torch import, so that
``--help`` stays fast.  The names and defaults restate the library's (:mod:`inpaint.sampling`,
:mod:`inpaint.guide`, :data:`inpaint.fill.DEFAULT_SAMPLER`, :data:`inpaint.windows.MARGIN`); a test keeps them
equal."""

from __future__ import annotations

import click

SAMPLER_NAMES = ("ddpm", "ddim", "dpmpp-2m", "dpmpp-2m-sde", "pc", "repaint")
"""``inpaint.sampling.SAMPLERS``, restated so that ``--help`` needs no torch (a test keeps them equal)."""

START_NAMES = ("noise", "mean", "telea", "ns", "biharmonic", "patchmatch")
"""``inpaint.guide.GUIDES``, restated so that ``--help`` needs no torch (a test keeps them equal)."""

DEFAULT_START, DEFAULT_STRENGTH, DEFAULT_STEPS, REPAINT_STEPS = "patchmatch", 0.4, 25, 250
"""``inpaint.fill.DEFAULT_SAMPLER``'s start, strength and steps, and ``REPAINT_SAMPLER``'s steps, restated for
``--help`` (a test keeps them equal)."""

DEFAULT_ETA, DEFAULT_JUMP_LENGTH, DEFAULT_JUMP_N_SAMPLE = 0.0, 10, 10
"""``SamplerConfig``'s ``eta``, ``jump_length`` and ``jump_n_sample``, restated for ``--help``."""

DEFAULT_MARGIN = 32
"""``inpaint.windows.MARGIN``, restated for ``--help`` (a test keeps them equal)."""

STEPS_HELP = (f"Denoising steps of the fill [default: {DEFAULT_STEPS} with the default sampler, {REPAINT_STEPS} for "
              "repaint, every timestep of the grid for another named --sampler].")

START_HELP = ("What a diffusion fill starts from: pure noise, or a first fill noised to --strength (SDEdit): the "
              "known pixels' mean colour, or a classical method's fill [default: "
              f"{DEFAULT_START} with the default sampler, noise with a named --sampler].")
STRENGTH_HELP = ("Share of the chain a guided fill runs: its first timestep is strength x (T - 1), at most the "
                 "sampler's start; lower keeps more of the --start fill.  Below 1 needs a guided --start "
                 f"[default: {DEFAULT_STRENGTH:g} for the default start, 1 for noise].")

def check_start(start: str | None, strength: float | None, sampler: str | None = None) -> None:
    """--strength below 1 keeps part of a first fill: refuse it with a noise start (a named --sampler starts
    from noise unless --start says otherwise), before any work."""
    noise = start == "noise" or (start is None and sampler is not None)
    if strength is not None and strength < 1 and noise:
        raise click.BadParameter("a strength below 1 starts from a first fill; give --start (e.g. patchmatch)",
                                 param_hint="--strength")
