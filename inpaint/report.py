"""Figures and tables: loss curves, grids of fills, the perception-distortion plane, Markdown and CSV.

Figures are built as :class:`matplotlib.figure.Figure` objects (``*_figure``
functions, which tests inspect) and saved by the ``plot_*``/``save_*``
functions.  Nothing here touches matplotlib's global state (backend, current figure), so
importing :mod:`inpaint` leaves a notebook's inline plots alone.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

from .io import to_uint8

HOLE_COLOUR = (255, 0, 255)  # magenta: the hole in "masked input" panels


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    window = max(1, min(window, len(values)))
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def save_figure(fig: Figure, path: str | os.PathLike) -> None:
    """Save ``fig`` to ``path``, creating its folder."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def loss_figure(curves: dict[str, Tensor]) -> Figure:
    """Training loss per step (faint) and its moving average, one colour per method."""
    fig = Figure(figsize=(7, 4), dpi=110)
    ax = fig.subplots()
    for name, losses in curves.items():
        y = losses.numpy().astype(np.float64)
        if len(y) == 0:
            continue
        (line,) = ax.plot(np.arange(1, len(y) + 1), y, alpha=0.2, lw=0.6)
        w = max(1, len(y) // 50)
        ax.plot(np.arange(w, len(y) + 1), moving_average(y, w), color=line.get_color(), lw=1.6, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss (hole MSE)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_losses(curves: dict[str, Tensor], path: str | Path) -> None:
    """:func:`loss_figure` saved to ``path``."""
    save_figure(loss_figure(curves), path)


def _rgb(x: Tensor) -> np.ndarray:
    """(C, H, W) in [-1, 1] as uint8 RGB for display; grey is repeated, extra channels dropped."""
    a = to_uint8(x)
    if a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    return a[:, :, :3]


def masked_view(x: Tensor, known: Tensor) -> np.ndarray:
    """The input as a user sees it: the hole painted magenta."""
    a = _rgb(x).copy()
    a[~known[0].numpy()] = HOLE_COLOUR
    return a


def grid_figure(columns: dict[str, Tensor], known: Tensor, *, title: str | None = None) -> Figure:
    """A grid of crops: one row per crop, one titled column per entry.

    Parameters
    ----------
    columns : dict name -> Tensor (N, C, H, W)
        The first column is shown with its hole painted; the others as they are.
    known : Tensor (N, 1, H, W) bool
    """
    names = list(columns)
    n = len(next(iter(columns.values())))
    height = 1.9 * n + 0.4
    fig = Figure(figsize=(1.9 * len(names), height), dpi=110)
    axes = fig.subplots(n, len(names), squeeze=False)
    for j, name in enumerate(names):
        for i in range(n):
            x = columns[name][i].detach().cpu().float()
            img = masked_view(x, known[i].cpu()) if j == 0 else _rgb(x)
            ax = axes[i, j]
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(name, fontsize=9)
    if title:  # 0.1 in from the top, and the axes kept out of the top 0.35 in, whatever the number of rows
        fig.suptitle(title, fontsize=9, y=1 - 0.1 / height)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / height) if title else None)
    return fig


def save_grid(columns: dict[str, Tensor], known: Tensor, path: str | Path, *, title: str | None = None) -> None:
    """:func:`grid_figure` saved to ``path``."""
    save_figure(grid_figure(columns, known, title=title), path)


def markdown_table(rows: list[dict], columns: list[str], formats: dict[str, str] | None = None) -> str:
    """A Markdown table of ``rows`` (dicts), in the order of ``columns``; a row without a column reads '–' there."""
    formats = formats or {}

    def cell(r: dict, c: str) -> str:
        if c not in r:
            return "–"
        return r[c] if isinstance(r[c], str) else format(r[c], formats.get(c, ""))

    out = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    out += ["| " + " | ".join(cell(r, c) for c in columns) + " |" for r in rows]
    return "\n".join(out)


FORMATS = {"psnr": ".2f", "ssim": ".3f", "lpips": ".3f", "sharpness": ".2f", "blur_effect": ".3f",
           "tone": ".1f", "detail": ".1f", "colour": ".1f", "patch_swd": ".1f", "diversity": ".3f",
           "seconds_per_fill": ".3f"}
"""Number format of each score in tables (:data:`inpaint.evaluate.COLUMNS`)."""
HEADERS = {"psnr": "PSNR (dB) ↑", "ssim": "SSIM ↑", "lpips": "LPIPS ↓", "sharpness": "sharpness (1 = truth)",
           "blur_effect": "blur ↓", "tone": "tone error ↓", "detail": "detail error ↓",
           "colour": "colour error ↓", "patch_swd": "patch SWD ↓", "diversity": "diversity",
           "seconds_per_fill": "s / fill"}
"""Column header of each score in tables and on axes."""


def mean_se_cell(row: dict, key: str, fmt: str | None = None) -> str:
    """``row[key]`` as 'mean ± standard error' (``row[key + '_se']``), in ``FORMATS[key]`` or ``fmt``.

    A NaN mean reads '–'; a NaN error (one crop), or a time, reads as the mean alone.
    """
    mean, se, fmt = row[key], row[key + "_se"], fmt or FORMATS.get(key, ".3f")
    if math.isnan(mean):
        return "–"
    return format(mean, fmt) if math.isnan(se) or key == "seconds_per_fill" else f"{mean:{fmt}} ± {se:{fmt}}"


def with_se(rows: list[dict], keys: Sequence[str]) -> list[dict]:
    """Rows whose ``keys`` cells read 'mean ± se' (:func:`mean_se_cell`), for Markdown tables."""
    return [{**row, **{k: mean_se_cell(row, k) for k in keys if k in row}} for row in rows]


def summary_markdown(summary: list[dict], means: list[dict] | None = None) -> str:
    """The summary as Markdown tables (mean ± standard error over crops), plus the means over textures."""
    cols = ["texture", "method", "crops", *HEADERS.values()]

    def table(rows):
        cells = [{"texture": r["texture"], "method": r["method"], "crops": str(r["crops"]),
                  **{HEADERS[k]: mean_se_cell(r, k) for k in HEADERS}} for r in rows]
        return markdown_table(cells, cols)

    text = table(summary)
    if means and len({r["texture"] for r in summary}) > 1:
        text += "\n\nMean over textures (standard errors combined):\n\n" + table(means)
    return text


def write_results(rows: list[dict], path: str | os.PathLike, columns: Sequence[str]) -> None:
    """A CSV of ``rows`` in the order of ``columns``: floats at full precision, NaN or a missing key as an empty
    cell; a column no row has (a metric newer than the rows) is left out."""
    columns = [k for k in columns if any(k in r for r in rows)]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(columns))
        writer.writeheader()
        for r in rows:
            writer.writerow({k: "" if isinstance(r.get(k), float) and math.isnan(r[k]) else r.get(k, "") for k in columns})


# Label corners: offset in points and alignment, and roughly where the label's centre lands
# in units of the data's range (labels are wider than tall).
_SPOTS = (((7, 5), "left", "bottom", (0.1, 0.04)), ((7, -5), "left", "top", (0.1, -0.04)),
          ((-7, 5), "right", "bottom", (-0.1, 0.04)), ((-7, -5), "right", "top", (-0.1, -0.04)))


def _label_spots(points: list[tuple[float, float]]) -> list[tuple]:
    """For each point, the label corner farthest from the other points and the labels placed before."""
    xs, ys = zip(*points)
    span = [(max(v) - min(v)) or 1.0 for v in (xs, ys)]
    norm = [((x - min(xs)) / span[0], (y - min(ys)) / span[1]) for x, y in points]
    placed, chosen = [], []
    for i, (x, y) in enumerate(norm):
        obstacles = norm[:i] + norm[i + 1:] + placed

        def clearance(spot, x=x, y=y, obstacles=obstacles):
            cx, cy = x + spot[3][0], y + spot[3][1]
            return min((math.hypot(cx - ox, cy - oy) for ox, oy in obstacles), default=1.0)

        best = max(_SPOTS, key=clearance)
        placed.append((x + best[3][0], y + best[3][1]))
        chosen.append(best)
    return chosen


def draw_plane(ax, means: list[dict], *, learned: Sequence[str] = (), title: str = "") -> None:
    """The perception-distortion plane on ``ax``: PSNR (x) against LPIPS (y), one labelled point per method.

    Error bars are standard errors; the best corner is bottom right (high PSNR, low LPIPS).
    """
    spots = _label_spots([(r["psnr"], r["lpips"]) for r in means])
    for r, (offset, ha, va, _) in zip(means, spots):
        is_learned = r["method"] in learned
        xerr, yerr = (None if math.isnan(r[k + "_se"]) else r[k + "_se"] for k in ("psnr", "lpips"))
        ax.errorbar(r["psnr"], r["lpips"], xerr=xerr, yerr=yerr, fmt="o" if is_learned else "s", capsize=3,
                    ms=6, color="tab:blue" if is_learned else "tab:orange")
        ax.annotate(r["method"], (r["psnr"], r["lpips"]), textcoords="offset points", xytext=offset, ha=ha, va=va,
                    fontsize=9, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
    kinds = {r["method"] in learned for r in means}
    if len(kinds) > 1:  # a legend only when both kinds are on the plane
        ax.plot([], [], "o", color="tab:blue", label="learned")
        ax.plot([], [], "s", color="tab:orange", label="classical")
        ax.legend(loc="upper right", fontsize=8)
    ax.margins(0.15)
    ax.set_xlabel("PSNR on the hole (dB), higher = less distortion")
    ax.set_ylabel("LPIPS, lower = perceptually closer")
    ax.text(0.98, 0.02, "better ↘", transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="grey")
    ax.grid(alpha=0.3)
    ax.set_title(title or "perception-distortion plane", fontsize=9)


def plane_figure(means: list[dict], *, learned: Sequence[str] = (), title: str = "") -> Figure:
    """:func:`draw_plane` as a figure of its own."""
    fig = Figure(figsize=(6.4, 4.8), dpi=120)
    draw_plane(fig.subplots(), means, learned=learned, title=title)
    fig.tight_layout()
    return fig


def plot_plane(means: list[dict], path: str | os.PathLike, *, learned: Sequence[str] = (), title: str = "") -> None:
    """:func:`plane_figure` saved to ``path``."""
    save_figure(plane_figure(means, learned=learned, title=title), path)
