"""The report of a comparison, the same from one run or from merged shards.

:func:`write_report` writes ``results.csv`` (:data:`inpaint.evaluate.COLUMNS`), ``summary.md``,
``grid.png`` (masked input, each method's first sample, truth; up to
``GRID_ROWS`` crops in all), ``plane.png`` and ``run.json`` from the
per-texture results of :func:`inpaint.compare.compare_texture`, whether they
come straight from it or from the parts of a sharded run
(:func:`inpaint.compare.parts.from_parts`).
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import torch
from torch import Tensor

from .. import DISTRIBUTION
from ..evaluate import COLUMNS, overall, summarize
from ..report import plot_plane, save_grid, summary_markdown, write_results
from ..unet import LEARNED_METHODS

__all__ = ["GRID_ROWS", "REPORT_FILES", "write_report", "package_versions"]

REPORT_FILES = ("results.csv", "summary.md", "grid.png", "plane.png", "run.json")
"""What :func:`write_report` writes into its folder (``compare`` and ``demo``'s OUT)."""
RESULTS_CSV, SUMMARY_MD, GRID_PNG, PLANE_PNG, RUN_JSON = REPORT_FILES
GRID_ROWS = 6
"""Crops shown in ``grid.png``, shared among the textures."""
VERSIONED = ("torch", "kornia", "scikit-image", "opencv", "lpips", "numpy", "PyPatchMatch", "inpaint")
_OPENCV_DISTS = ("opencv-python-headless", "opencv-python", "opencv-contrib-python-headless", "opencv-contrib-python")
RUN_KEYS = ("command", "config", "textures", "masks", "checkpoints", "versions", "python", "shards")
"""Keys of ``run.json``, in order; ``shards`` only after a merge."""


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages the numbers depend on (None when missing)."""
    out = {}
    for name in VERSIONED:
        for dist in _OPENCV_DISTS if name == "opencv" else (DISTRIBUTION,) if name == "inpaint" else (name,):
            try:
                out[name] = metadata.version(dist)
                break
            except metadata.PackageNotFoundError:
                out[name] = None
    return out


def write_report(results: list[dict], run: dict, out: Path) -> list[dict]:
    """The report of per-texture ``results`` (:func:`inpaint.compare.compare_texture`) in ``out``; the summary rows.

    ``run`` holds the command, the config (as a dict), the mask set, the
    versions; the textures and the checkpoints used are added to it.
    """
    rows = [r for result in results for r in result["rows"]]
    summary = summarize(rows)
    means = overall(summary)
    write_results(rows, out / RESULTS_CSV, COLUMNS)
    (out / SUMMARY_MD).write_text(summary_markdown(summary, means) + "\n")
    names, holes = ", ".join(r["meta"]["name"] for r in results), Path(run["config"]["masks"]).name
    rows_each = max(1, GRID_ROWS // len(results))
    columns = _grid_columns([{k: v[:rows_each] for k, v in r["grid"].items()} for r in results])
    known = torch.cat([r["known"][:rows_each] for r in results])
    save_grid(columns, known, out / GRID_PNG, title=f"{names}: held-out crops, {holes} holes")
    plot_plane(means, out / PLANE_PNG, learned=LEARNED_METHODS, title=f"{names}, {holes} holes (mean ± standard error)")
    run = {**run, "textures": [r["meta"] for r in results],
           "checkpoints": {r["meta"]["name"]: r["checkpoints"] for r in results}}
    (out / RUN_JSON).write_text(json.dumps({k: run[k] for k in RUN_KEYS if k in run}, indent=2, default=str) + "\n")
    return summary


def _grid_columns(parts: list[dict[str, Tensor]]) -> dict[str, Tensor]:
    """Stack the per-texture grid columns; grey crops shown as RGB so textures can share a grid."""
    rgb = lambda x: x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x  # noqa: E731
    return {name: torch.cat([rgb(p[name]) for p in parts]) for name in parts[0]}
