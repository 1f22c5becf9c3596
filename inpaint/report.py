"""Figures: loss curves and grids of fills."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from torch import Tensor  # noqa: E402

from .io import to_uint8  # noqa: E402

HOLE_COLOUR = (255, 0, 255)  # magenta: the hole in "masked input" panels


def moving_average(values: np.ndarray, window: int) -> np.ndarray:
    window = max(1, min(window, len(values)))
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def plot_losses(curves: dict[str, Tensor], path: str | Path) -> None:
    """Training loss per step (faint) and its moving average, one colour per method."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=110)
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
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


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


def save_grid(columns: dict[str, Tensor], known: Tensor, path: str | Path, *, title: str | None = None) -> None:
    """A grid of crops: one row per crop, one titled column per entry.

    Parameters
    ----------
    columns : dict name -> Tensor (N, C, H, W)
        The first column is shown with its hole painted; the others as they are.
    known : Tensor (N, 1, H, W) bool
    """
    names = list(columns)
    n = len(next(iter(columns.values())))
    fig, axes = plt.subplots(n, len(names), figsize=(1.9 * len(names), 1.9 * n + 0.4), dpi=110, squeeze=False)
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
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def markdown_table(rows: list[dict], columns: list[str], formats: dict[str, str] | None = None) -> str:
    """A Markdown table of ``rows`` (dicts), in the order of ``columns``."""
    formats = formats or {}
    out = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    for r in rows:
        cells = [format(r[c], formats.get(c, "")) if not isinstance(r[c], str) else r[c] for c in columns]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)

