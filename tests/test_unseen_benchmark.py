"""The unseen-texture benchmark's protocol: the split, the fixed holes, the recipes, and shards that merge."""

from __future__ import annotations

import csv
import json
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inpaint.checkpoint import load_checkpoint

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments"))

import unseen_benchmark as U  # noqa: E402
from inpaint.config import TrainConfig  # noqa: E402


def test_split_holds_out_the_right_quarter_of_a_wide_image_and_the_bottom_of_a_tall_one():
    exclude, box = U.split(torch.zeros(1, 3, 512, 1024))
    assert (box.top, box.left, box.height, box.width) == (0, 768, 512, 256)
    assert exclude[:, 768:].all() and not exclude[:, :768].any()
    exclude, box = U.split(torch.zeros(1, 3, 1024, 512))
    assert (box.top, box.left, box.height, box.width) == (768, 0, 256, 512)
    assert exclude[768:].all() and not exclude[:768].any()


def test_benchmark_holes_are_four_strokes_and_four_boxes_within_the_hole_range():
    known, names = U.benchmark_holes()
    assert known.shape == (8, 1, 128, 128) and known.dtype == torch.bool
    assert [n.split("/")[0] for n in names] == ["thick-128"] * 4 + ["box-128"] * 4
    hole = (~known).float().mean((1, 2, 3))
    assert ((hole >= 0.03) & (hole <= 0.35)).all()


def test_recipes_set_their_fields_on_the_library_defaults():
    assert U.recipe_config("library", "diffusion", 3, 10) == TrainConfig(model=TrainConfig().model, steps=10)
    first = U.recipe_config("default", "diffusion", 3, 10)  # the defaults the first tables were made with
    assert (first.augment, first.lr_warmup, first.lr_decay, first.precision) == ("dihedral", 0, "none", "auto")
    before = U.recipe_config("before", "regression", 1, 5)
    assert (before.augment, before.lr_decay, before.precision, before.diffusion.noise_levels) == (
        "dihedral", "none", "fp32", "uniform")
    assert before.method == "regression" and before.model.image_channels == 1 and before.steps == 5
    crop = U.recipe_config("after-uniform+bf16+crop128", "diffusion", 3, 5)
    assert (crop.crop, crop.batch, crop.lr_warmup) == (128, 4, 100)


def test_unit_seeds_are_stable_across_processes():
    assert U.unit_seed("bark", "diffusion") == zlib.crc32(b"bark/diffusion") == U.unit_seed("bark", "diffusion")
    assert U.unit_seed("bark", "diffusion") != U.unit_seed("bark", "patchmatch")


@pytest.fixture
def tiny_benchmark(tmp_path, monkeypatch):
    """Two synthetic textures in a benchmark folder of their own."""
    folder = tmp_path / "textures"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, shape in (("wide", (512, 1024, 3)), ("tall", (1024, 512, 3))):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(folder / f"{name}.png")
    (folder / "manifest.json").write_text(json.dumps([{"file": "wide.png", "kind": "noise"},
                                                      {"file": "tall.png", "kind": "noise"}]))
    monkeypatch.setattr(U, "TEXTURES", folder)
    monkeypatch.setattr(U, "RESULTS", tmp_path / "results")
    monkeypatch.setattr(U, "RUNS", tmp_path / "runs")
    return tmp_path


def run(monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", ["unseen_benchmark.py", *args])
    U.main()


def rows_without_timing(path: Path) -> list[dict]:
    with open(path) as f:
        rows = [{k: v for k, v in r.items() if k != "seconds_per_fill"} for r in csv.DictReader(f)]
    return sorted(rows, key=lambda r: (r["texture"], r["method"], r["crop"]))


def test_shards_merge_into_the_table_of_one_run(tiny_benchmark, monkeypatch):
    run(monkeypatch, "--methods", "patchmatch", "--tag", "whole")
    for i in (1, 2):
        run(monkeypatch, "--methods", "patchmatch", "--tag", "split", "--shard", f"{i}/2")
    results = tiny_benchmark / "results"
    assert rows_without_timing(results / "whole" / "results.csv") == rows_without_timing(
        results / "split" / "results.csv")
    for name in ("results.md", "plane.png", "run.json", "grid_wide.png", "grid_tall.png"):
        assert (results / "split" / name).is_file(), name
    assert len(rows_without_timing(results / "whole" / "results.csv")) == 2 * U.CROPS
    made_by = (results / "split" / "results.md").read_text()
    assert "--shard 1/2" in made_by and "--shard 2/2" in made_by  # every part's command is kept


def test_learned_methods_train_once_and_are_reused(tiny_benchmark, monkeypatch, capsys):
    args = ["--methods", "diffusion,patchmatch", "--textures", "wide", "--steps", "2", "--recipe", "before",
            "--init", "scratch"]
    run(monkeypatch, *args)
    text = (tiny_benchmark / "results" / "before-2steps" / "results.md").read_text()
    assert "LPIPS ratio" in text and "wide diffusion 2" in text
    run(monkeypatch, *args)
    assert "reusing" in capsys.readouterr().out


def test_bad_arguments_are_refused(tiny_benchmark, monkeypatch):
    for args in (["--shard", "3/2"], ["--textures", "nosuch"], ["--methods", "gan"], ["--steps", "0"],
                 ["--steps", "0", "--init", "prior"], ["--steps", "0"], ["--init", "nosuch.pt"]):  # no model to fill with; a prior for regression
        with pytest.raises(SystemExit):
            run(monkeypatch, *args)


def test_a_prior_fills_untrained_and_fine_tunes(tiny_benchmark, monkeypatch):
    run(monkeypatch, "--methods", "diffusion", "--textures", "wide", "--init", "prior", "--steps", "0")
    part = json.loads((tiny_benchmark / "results" / "library+prior-0steps" / "parts" / "wide.json").read_text())
    assert part["init"] == "prior-corpus" and part["models"]["diffusion"]["steps"] == 0
    run(monkeypatch, "--methods", "diffusion", "--textures", "wide", "--init", "prior", "--steps", "1")
    tuned = load_checkpoint(tiny_benchmark / "runs" / "library+prior-1steps" / "wide" / "diffusion.pt")
    assert tuned.step == 1 and tuned.config.init.startswith("prior-corpus@")
    run(monkeypatch, "--methods", "diffusion,regression", "--textures", "wide", "--steps", "1")  # the default: auto
    part = json.loads((tiny_benchmark / "results" / "library+auto-1steps" / "parts" / "wide.json").read_text())
    assert part["init"] == "prior-corpus" and part["recipe"] == "library"
    assert part["models"]["diffusion"]["config"]["init"].startswith("prior-corpus@")
    assert part["models"]["regression"]["config"]["init"] == "scratch"


def test_hole_diagnosis_variants_name_what_they_run():
    """The table's 'diffusion' is the pure-noise start, its default row is the library's default sampler,
    and the recipes that change the network or the trained interval build valid configs."""
    import hole_diagnosis as D
    from inpaint.fill import DEFAULT_SAMPLER, SamplerConfig

    v = D.variants()
    noise = v["diffusion"]["sampler"].resolved("diffusion")
    assert (noise.start, noise.strength) == ("noise", 1.0) and v["diffusion"]["guide"] is None
    default = v[D.DEFAULT_VARIANT]
    assert default["guide"] == DEFAULT_SAMPLER.start == "patchmatch"
    assert default["sampler"].resolved("diffusion").strength == DEFAULT_SAMPLER.strength
    assert SamplerConfig().resolved("diffusion").strength == DEFAULT_SAMPLER.strength
    assert [D.size_bin(f) for f in (0.05, 0.1, 0.3)] == ["< 10 %", "10-25 %", "> 25 %"]
    assert D.hole_family("thick-128/0001.png") == "strokes" and D.hole_family("box-128/0002.png") == "boxes"
    assert U.recipe_config("library+dilated", "diffusion", 3, 10).model.bottleneck == "dilated"
    assert U.recipe_config("library+train0.5", "diffusion", 3, 10).diffusion.top_timestep == round(0.5 * 399)
