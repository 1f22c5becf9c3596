"""Scores of fills: one row per crop and sample with every hole metric, and their means with standard errors.

:func:`result_rows` scores the fills of one method on an evaluation set;
:func:`summarize` averages them per texture and method (over samples, then
over crops), :func:`overall` over textures; :func:`paired_difference` compares
two methods crop by crop.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..metrics import diversity, hole_metrics
from .sets import METRICS, EvalSet

__all__ = ["COLUMNS", "result_rows", "summarize", "overall", "paired_difference"]

COLUMNS = ("texture", "method", "crop", "mask", "sample", *METRICS, "diversity", "seconds_per_fill")
"""The keys of a row of :func:`result_rows`, the columns of ``results.csv``: one row per texture x method x crop x sample."""


def result_rows(texture: str, method: str, outputs: Tensor, data: EvalSet, mask_ids: list[int], seconds: float,
                net) -> list[dict]:
    """One row per crop and sample with every metric; diversity is per crop (NaN for one sample)."""
    per_sample = [hole_metrics(out, data.truth, data.known, net=net) for out in outputs]
    spread = diversity(outputs, net=net).double() if len(outputs) > 1 else torch.full((outputs.shape[1],), math.nan)
    rows = []
    for i, mask in enumerate(mask_ids):
        for s, values in enumerate(per_sample):
            row = {"texture": texture, "method": method, "crop": i, "mask": mask, "sample": s}
            row.update({k: float(values[k][i]) for k in METRICS})
            rows.append({**row, "diversity": float(spread[i]), "seconds_per_fill": seconds})
    return rows


def _mean_se(values: list[float]) -> tuple[float, float]:
    v = torch.tensor([x for x in values if not math.isnan(x)], dtype=torch.float64)
    if len(v) == 0:
        return math.nan, math.nan
    return v.mean().item(), (v.std() / len(v) ** 0.5).item() if len(v) > 1 else math.nan


def _per_crop(rows: list[dict], key: str) -> dict[tuple, float]:
    """Mean over samples of ``key`` for each (texture, crop)."""
    groups: dict[tuple, list[float]] = {}
    for r in rows:
        groups.setdefault((r["texture"], r["crop"]), []).append(r[key])
    return {c: sum(v) / len(v) for c, v in groups.items()}


def paired_difference(rows: list[dict], baseline: list[dict], key: str = "lpips") -> tuple[float, float]:
    """Mean over crops of ``key``'s difference to ``baseline`` on the same crops, and its standard error.

    Each crop's value is first averaged over its samples.  Pairing by crop
    removes the spread between crops (a hard crop is hard for both), so two
    methods a few thousandths apart can be told apart where their separate
    standard errors overlap.  Both must score the same crops.
    """
    mine, theirs = _per_crop(rows, key), _per_crop(baseline, key)
    if set(mine) != set(theirs):
        raise ValueError("the two sets of rows score different crops")
    return _mean_se([mine[c] - theirs[c] for c in sorted(mine)])


def _scored(rows: list[dict]) -> list[str]:
    """The metrics (and diversity, time) ``rows`` hold: all of them, except in rows written before a metric
    existed (results merged from older parts), which leave it out."""
    return [k for k in (*METRICS, "diversity", "seconds_per_fill") if any(k in r for r in rows)]


def summarize(rows: list[dict]) -> list[dict]:
    """Per texture x method: mean and standard error over crops of the per-crop means over samples."""
    groups: dict[tuple, dict[int, list[dict]]] = {}
    for r in rows:
        groups.setdefault((r["texture"], r["method"]), {}).setdefault(r["crop"], []).append(r)
    out = []
    for (texture, method), crops in groups.items():
        summary = {"texture": texture, "method": method, "crops": len(crops)}
        for key in _scored(rows):
            per_crop = [sum(r[key] for r in rs) / len(rs) for rs in crops.values()]
            summary[key], summary[key + "_se"] = _mean_se(per_crop)
        out.append(summary)
    return out


def overall(summary: list[dict]) -> list[dict]:
    """Per method: the mean over textures of the texture means; standard error sqrt(sum se^2) / T."""
    by_method: dict[str, list[dict]] = {}
    for s in summary:
        by_method.setdefault(s["method"], []).append(s)
    out = []
    for method, rs in by_method.items():
        row = {"texture": "all", "method": method, "crops": sum(r["crops"] for r in rs)}
        for key in _scored(summary):
            row[key] = sum(r[key] for r in rs) / len(rs)
            row[key + "_se"] = math.sqrt(sum(r[key + "_se"] ** 2 for r in rs)) / len(rs)
        out.append(row)
    return out
