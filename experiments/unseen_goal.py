"""The unseen benchmark against its goal: a run's ratio to PatchMatch overall and per hole family, the
textures where diffusion wins, sharpness, patch statistics, and the steps and budget each model used.

    python experiments/unseen_goal.py --tag library+auto-15min
    python experiments/unseen_goal.py --tag library+auto-15min --tag library+auto-5min   # one table each

Reads the parts of ``experiments/unseen_benchmark.py`` (no model is run) and writes
``experiments/results/unseen/<tag>/goal.md``.  Each texture's numbers are means over its crops (its fills
averaged per crop first); a family's ratio is the mean over textures of diffusion's family LPIPS over
PatchMatch's.  The budget used is the training's wall time over ``--minutes`` (setup included).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from unseen_benchmark import RESULTS  # noqa: E402

from inpaint.report import markdown_table  # noqa: E402

FAMILIES = ("strokes", "boxes")
GOAL = {"ratio": 0.85, "wins": 10, "family": 1.0, "sharpness": (0.8, 1.25)}
"""What resolves the issue: mean ratio at most 0.85 at 15 minutes, diffusion better on 10 of 14, each family at
most 1.0, sharpness between 0.8 and 1.25, patch SWD no worse than PatchMatch's (at 5 minutes: ratio at most 1.0)."""


def family(hole: str) -> str:
    return "strokes" if hole.startswith("thick") else "boxes"


def crop_means(rows: list[dict], key: str) -> dict[int, float]:
    by_crop: dict[int, list[float]] = {}
    for r in rows:
        by_crop.setdefault(r["crop"], []).append(r[key])
    return {c: sum(v) / len(v) for c, v in by_crop.items()}


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def texture_row(part: dict) -> dict:
    holes = part["holes"]
    rows = {m: [r for r in part["rows"] if r["method"] == m] for m in ("diffusion", "patchmatch")}
    lp = {m: crop_means(rs, "lpips") for m, rs in rows.items()}
    row = {"texture": part["texture"]}
    model = part["models"]["diffusion"]
    row["steps"] = model["steps"]
    if model.get("budget_minutes"):
        row["budget used"] = model["seconds"] / (60 * model["budget_minutes"])
    row["diffusion"], row["patchmatch"] = mean(lp["diffusion"].values()), mean(lp["patchmatch"].values())
    row["ratio"] = row["diffusion"] / row["patchmatch"]
    for f in FAMILIES:
        crops = [c for c in lp["diffusion"] if family(holes[c]) == f]
        row[f"{f} d"], row[f"{f} pm"] = (mean(lp[m][c] for c in crops) for m in ("diffusion", "patchmatch"))
        row[f] = row[f"{f} d"] / row[f"{f} pm"]
    for key in ("sharpness", "patch_swd", "colour"):
        for m in ("diffusion", "patchmatch"):
            row[f"{key} {m}"] = mean(crop_means(rows[m], key).values())
    return row


def goal_table(tag: str) -> str:
    parts = [json.loads(p.read_text()) for p in sorted((RESULTS / tag / "parts").glob("*.json"))]
    if not parts:
        raise SystemExit(f"no parts in {RESULTS / tag / 'parts'}")
    rows = [texture_row(p) for p in parts]
    avg = {k: mean(r[k] for r in rows) for k in rows[0] if k != "texture" and all(k in r for r in rows)}
    total = {"texture": "**mean**", **avg, "ratio": avg["diffusion"] / avg["patchmatch"],
             **{f: avg[f"{f} d"] / avg[f"{f} pm"] for f in FAMILIES}}
    columns = ["texture", "steps", "budget used", "diffusion", "patchmatch", "ratio", *FAMILIES,
               "sharpness diffusion", "sharpness patchmatch", "patch_swd diffusion", "patch_swd patchmatch",
               "colour diffusion", "colour patchmatch"]
    columns = [c for c in columns if c in rows[0]]
    formats = {"steps": ".0f", "budget used": ".1%", "diffusion": ".4f", "patchmatch": ".4f"}
    formats |= {c: ".2f" for c in columns if c not in formats and c != "texture"}
    wins = sum(r["ratio"] < 1 for r in rows)
    family_wins = {f: sum(r[f] < 1 for r in rows) for f in FAMILIES}
    used = [r["budget used"] for r in rows if "budget used" in r]
    lines = [
        f"# {tag}: against the goal\n",
        f"{len(rows)} textures of data/unseen; LPIPS of diffusion (the default sampler) and PatchMatch on the same "
        "8 held-out crops (4 strokes, 4 boxes), their ratio overall and per hole family (below 1: diffusion "
        "better); sharpness is the fill's Laplacian energy over the truth's (1 = as sharp); patch SWD and colour "
        "error in 0-255 levels.\n",
        markdown_table(rows + [total], columns, formats),
        f"\n- Mean LPIPS ratio {total['ratio']:.3f} (goal at 15 minutes: at most {GOAL['ratio']}; at 5 minutes: at "
        f"most 1.0); diffusion better on {wins} of {len(rows)} textures (goal: {GOAL['wins']}).",
        f"- Strokes {total['strokes']:.3f} (better on {family_wins['strokes']} of {len(rows)}), boxes "
        f"{total['boxes']:.3f} (better on {family_wins['boxes']}); goal: each at most {GOAL['family']}.",
        f"- Sharpness {total['sharpness diffusion']:.2f} (PatchMatch {total['sharpness patchmatch']:.2f}; goal "
        f"{GOAL['sharpness'][0]} to {GOAL['sharpness'][1]}); patch SWD {total['patch_swd diffusion']:.2f} against "
        f"PatchMatch's {total['patch_swd patchmatch']:.2f} (goal: no worse).",
    ]
    if used:
        lines.append(f"- Budget used: {min(used):.1%} to {max(used):.1%} of `--minutes` (goal: 95 to 105 %); steps "
                     f"{min(r['steps'] for r in rows)} to {max(r['steps'] for r in rows)}.")
    lines.append(f"\nMade by: `python experiments/unseen_goal.py --tag {tag}`.\n")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", action="append", required=True, help="a run of experiments/unseen_benchmark.py")
    for tag in parser.parse_args().tag:
        text = goal_table(tag)
        (RESULTS / tag / "goal.md").write_text(text)
        print(text)


if __name__ == "__main__":
    main()
