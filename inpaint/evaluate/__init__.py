"""The scoring protocol: how a method is scored, in one place.

1. **The evaluation set** (:mod:`.sets`): a texture's held-out strip
   (:func:`inpaint.patches.held_out_box`) cut into crops the size of a fixed
   mask set; crop ``i`` gets mask ``i % len(masks)``.  Every method receives
   the same masked crops.
2. **The fillers** (:mod:`.fillers`): every method of ``METHODS`` as a
   function of the masked crops; stochastic methods (``STOCHASTIC``) draw
   ``samples`` fills per crop, each crop's noise from its own seed
   (:func:`crop_seeds`).  :func:`run_fills` runs a filler over the set and times it.
3. **The rows and summaries** (:mod:`.scores`): :func:`result_rows` scores
   each fill on the hole (:func:`inpaint.metrics.hole_metrics`, diversity
   between samples); :func:`summarize` averages per texture and method (over
   samples, then crops, with standard errors over crops); :func:`overall`
   averages over textures; :func:`paired_difference` compares two methods crop by crop.

:func:`score_filler` does 2 and 3 for one method.  :mod:`inpaint.compare`
runs the protocol over textures and methods and writes the report
(:mod:`inpaint.report` holds the table headers and formats); the studies
and benchmarks of ``experiments/`` call the same functions.
"""

from __future__ import annotations

from torch import Tensor

from .fillers import (METHODS, STOCHASTIC, Bars, Filler, classical_filler, crop_seeds, learned_filler, no_bars,
                      run_fills)
from .scores import COLUMNS, overall, paired_difference, result_rows, summarize
from .sets import METRICS, EvalSet, eval_set, held_out_eval_set, load_eval_set

__all__ = [
    "METRICS", "COLUMNS", "METHODS", "STOCHASTIC", "EvalSet", "eval_set", "held_out_eval_set", "load_eval_set", "Filler",
    "Bars", "no_bars", "crop_seeds", "learned_filler", "classical_filler", "run_fills", "result_rows", "summarize",
    "overall", "paired_difference", "score_filler",
]


def score_filler(texture: str, method: str, filler: Filler, data: EvalSet, mask_ids: list[int], *, net, batch: int,
                 seeds: list[int] | None = None) -> tuple[list[dict], Tensor]:
    """:func:`run_fills` then :func:`result_rows`: the rows of one method on ``data``, and its fills (S, N, C, H, W)."""
    outputs, seconds = run_fills(filler, data, batch, seeds)
    return result_rows(texture, method, outputs, data, mask_ids, seconds, net), outputs
