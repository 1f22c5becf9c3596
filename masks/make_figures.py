"""Draw masks/families.png (one mask of each family) and masks/hole_fraction.png.

Both figures are made from the committed sets, so they show exactly what the
evaluation uses.  Run from the repository root::

    python masks/make_figures.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from inpaint.mask_sets import FIXED_SET_SEEDS, FIXED_SET_SIZES, load_mask_set  # noqa: E402
from inpaint.masks import FAMILIES, hole_fraction  # noqa: E402

HERE = Path(__file__).resolve().parent
EXAMPLE = 3  # which mask of each 128 px set the montage shows
SHORT_SOURCE = {"box": "boxes", "freeform": "DeepFill v2", "thin": "LaMa thin", "medium": "LaMa medium",
                "thick": "LaMa thick", "wide": "RePaint (= LaMa thick)", "narrow": "RePaint (= LaMa thin)",
                "sr2x": "RePaint super-resolve 2x", "lines": "RePaint alternating lines", "half": "RePaint half",
                "expand": "RePaint expand"}


def montage(out: Path) -> None:
    # every 128 px mask is shown at exactly 2x with nearest-neighbour pixels, so the
    # stride-2 patterns (sr2x, lines) render without moire
    dpi, panel, gap, top, cols = 100, 256, 32, 56, 6
    rows = -(-(len(FIXED_SET_SEEDS) + 1) // cols)
    width, height = cols * panel + (cols + 1) * gap, rows * (panel + top) + gap
    fig = plt.figure(figsize=(width / dpi, height / dpi), dpi=dpi)
    for i, family in enumerate(FIXED_SET_SEEDS):
        known, _ = load_mask_set(HERE / f"{family}-128")
        r, c = divmod(i, cols)
        ax = fig.add_axes(((gap + c * (panel + gap)) / width, 1 - (r + 1) * (panel + top) / height,
                           panel / width, panel / height))
        ax.imshow(~known[EXAMPLE, 0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        frac = hole_fraction(known[EXAMPLE:EXAMPLE + 1]).item()
        ax.set_title(f"{family}: hole {frac:.0%}\n{SHORT_SOURCE[family]}", fontsize=9)
    r, c = divmod(len(FIXED_SET_SEEDS), cols)
    fig.text((gap + c * (panel + gap)) / width, 1 - (r + 0.6) * (panel + top) / height,
             f"128 x 128 px, shown at 2x\nwhite = hole, black = known\n(as in the PNG files)\n\n"
             f"mask {EXAMPLE:04d} of each\nmasks/<family>-128 set", fontsize=11, va="center")
    fig.savefig(out, dpi=dpi)
    plt.close(fig)


def histograms(out: Path) -> None:
    fig, axes = plt.subplots(3, 4, figsize=(13, 8), sharex=True)
    bins = np.linspace(0, 1, 51)
    for ax in axes.flat:
        ax.axis("off")
    for ax, family in zip(axes.flat, FIXED_SET_SEEDS):
        ax.axis("on")
        lo, hi = FAMILIES[family].hole_range
        ax.axvspan(lo, hi, color="0.9", label="stated range")
        for size, color in zip(FIXED_SET_SIZES, ("tab:blue", "tab:orange")):
            frac = hole_fraction(load_mask_set(HERE / f"{family}-{size}")[0]).numpy()
            ax.hist(frac, bins=bins, histtype="step", linewidth=1.5, color=color, label=f"{size} px")
        ax.set_title(family, fontsize=10)
        ax.set_xlim(0, 1)
    for ax in axes[-1]:
        ax.set_xlabel("hole fraction")
    for ax in axes[:, 0]:
        ax.set_ylabel("masks (of 100)")
    axes.flat[0].legend(fontsize=8, loc="upper right")
    fig.suptitle("Hole fraction of the committed evaluation sets (100 masks per set)", fontsize=12)
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    montage(HERE / "families.png")
    histograms(HERE / "hole_fraction.png")
    print(f"wrote {HERE / 'families.png'} and {HERE / 'hole_fraction.png'}")
