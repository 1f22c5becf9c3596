"""Contracts of the fixed mask sets on disk and the ``inpaint masks`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from inpaint.cli.masks import masks as masks_cli
from inpaint.mask_sets import (
    FIXED_SET_COUNT, FIXED_SET_SEEDS, FIXED_SET_SIZES, load_mask_set, make_mask_set, regenerate_fixed_sets,
)
from inpaint.masks import FAMILIES, MASKS_VERSION, hole_fraction

MASKS_DIR = Path(__file__).resolve().parents[1] / "masks"


# --- mask sets -----------------------------------------------------------------------------------


def test_make_and_load_round_trip(tmp_path):
    out = make_mask_set("half", 16, 5, 3, tmp_path / "half-16")
    known, manifest = load_mask_set(out)
    assert known.shape == (5, 1, 16, 16) and known.dtype == torch.bool
    assert manifest["family"] == "half" and manifest["masks_version"] == MASKS_VERSION
    assert manifest["seed"] == 3 and manifest["count"] == 5 and manifest["size"] == 16
    g = torch.Generator().manual_seed(3)
    assert torch.equal(known, torch.cat([FAMILIES["half"](16, 16, generator=g) for _ in range(5)]))
    png = np.array(Image.open(out / "0000.png").convert("L"))
    assert np.array_equal(png == 255, (~known[0, 0]).numpy())  # white = hole on disk


def test_load_rejects_edited_or_incomplete_sets(tmp_path):
    out = make_mask_set("box", 16, 3, 0, tmp_path / "box")
    Image.fromarray(np.zeros((16, 16), bool)).save(out / "0001.png")  # no hole left
    with pytest.raises(ValueError, match="no hole"):
        load_mask_set(out)
    make_mask_set("box", 16, 3, 0, out, overwrite=True)
    flipped = np.array(Image.open(out / "0002.png"))
    flipped[0, :4] = ~flipped[0, :4]
    Image.fromarray(flipped).save(out / "0002.png")
    with pytest.raises(ValueError, match="hole fraction"):
        load_mask_set(out)
    make_mask_set("box", 16, 3, 0, out, overwrite=True)
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "count": 4}))
    with pytest.raises(ValueError, match="count=4"):
        load_mask_set(out)
    (out / "manifest.json").write_text(json.dumps({**manifest, "masks_version": MASKS_VERSION + 1}))
    with pytest.raises(ValueError, match="newer"):
        load_mask_set(out)
    with pytest.raises(ValueError, match="manifest.json"):
        load_mask_set(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="already holds"):
        make_mask_set("box", 16, 3, 0, out)
    with pytest.raises(ValueError, match="unknown mask family"):
        make_mask_set("blob", 16, 3, 0, tmp_path / "blob")


@pytest.mark.parametrize("family, size", [("thick", 64), ("sr2x", 128), ("freeform", 128)])
def test_regenerated_set_matches_committed_set(tmp_path, family, size):
    committed, committed_manifest = load_mask_set(MASKS_DIR / f"{family}-{size}")
    (out,) = regenerate_fixed_sets(tmp_path, families=[family], sizes=[size])
    fresh, fresh_manifest = load_mask_set(out)
    assert torch.equal(fresh, committed)
    assert fresh_manifest == committed_manifest
    for name in ("0000.png", f"{FIXED_SET_COUNT - 1:04d}.png"):
        committed_png = np.array(Image.open(MASKS_DIR / f"{family}-{size}" / name))
        assert np.array_equal(np.array(Image.open(out / name)), committed_png)


def test_every_committed_set_is_complete_and_in_range():
    for family in FIXED_SET_SEEDS:
        for size in FIXED_SET_SIZES:
            known, manifest = load_mask_set(MASKS_DIR / f"{family}-{size}")
            assert known.shape == (FIXED_SET_COUNT, 1, size, size)
            assert manifest["seed"] == FIXED_SET_SEEDS[family] + size and manifest["masks_version"] == MASKS_VERSION
            lo, hi = FAMILIES[family].hole_range
            frac = hole_fraction(known)
            assert lo <= frac.min() and frac.max() <= hi
            assert 0 < frac.min() and frac.max() < 1  # every mask has a hole and a known pixel


# --- command line ------------------------------------------------------------------------------------


def test_cli_make_writes_a_loadable_set(tmp_path):
    out = tmp_path / "thick-32"
    args = ["make", "--family", "thick", "--size", "32", "--count", "4", "--seed", "5", "--out", str(out)]
    result = CliRunner().invoke(masks_cli, args)
    assert result.exit_code == 0, result.output
    known, manifest = load_mask_set(out)
    assert known.shape == (4, 1, 32, 32) and manifest["seed"] == 5
    again = CliRunner().invoke(masks_cli, args)
    assert again.exit_code == 2 and "--overwrite" in again.output and "Traceback" not in again.output
    assert CliRunner().invoke(masks_cli, args + ["--overwrite"]).exit_code == 0


@pytest.mark.parametrize("bad", [["--family", "blob"], ["--size", "4"], ["--count", "0"], ["--seed", "-1"]])
def test_cli_bad_options_are_usage_errors(tmp_path, bad):
    args = {"--family": "box", "--size": "16", "--count": "2", "--seed": "0", "--out": str(tmp_path / "x")}
    args.update(dict(zip(bad[::2], bad[1::2])))
    result = CliRunner().invoke(masks_cli, ["make", *[t for kv in args.items() for t in kv]])
    assert result.exit_code == 2 and "Invalid value" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "x").exists()


def test_cli_unwritable_out_is_a_usage_error(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    args = ["make", "--family", "box", "--size", "16", "--count", "2", "--out", str(tmp_path / "file" / "set")]
    result = CliRunner().invoke(masks_cli, args)
    assert result.exit_code == 2 and "--out" in result.output and "Traceback" not in result.output


def test_cli_regenerate_one_set(tmp_path):
    result = CliRunner().invoke(masks_cli, ["regenerate", "--root", str(tmp_path), "--family", "half", "--size", "64"])
    assert result.exit_code == 0, result.output
    fresh, _ = load_mask_set(tmp_path / "half-64")
    assert torch.equal(fresh, load_mask_set(MASKS_DIR / "half-64")[0])
