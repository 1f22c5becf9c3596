import csv
import json
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import inpaint.compare.runner as compare_lib
import inpaint.evaluate as evaluate_lib
from inpaint.checkpoint import save_checkpoint
from inpaint.cli.compare import compare
from inpaint.compare import DEFAULT_CACHE, CompareConfig, cache_folder, parse_methods, run_compare
from inpaint.evaluate import COLUMNS, eval_set, overall, paired_difference, summarize
from inpaint.config import TrainConfig
from inpaint.fill import SamplerConfig
from inpaint.io import write_image
from inpaint.mask_sets import make_mask_set
from inpaint.train import train
from inpaint.unet import ModelConfig

TINY = TrainConfig(model=ModelConfig(width=8, depth=2), crop=32, batch=4, steps=20, ema=0.0)
FAST = SamplerConfig(sampler="ddpm", steps=4)


def texture(channels: int) -> torch.Tensor:
    """96x128: smooth waves plus noise, so the held-out strip is 32 px wide (3 crops of 32)."""
    g = torch.Generator().manual_seed(channels)
    y, x = torch.meshgrid(torch.linspace(0, 6, 96), torch.linspace(0, 8, 128), indexing="ij")
    waves = torch.stack([torch.sin(x + k * y) for k in range(channels)])[None]
    return (0.7 * waves + 0.2 * torch.randn(1, channels, 96, 128, generator=g)).clamp(-1, 1)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    write_image(texture(3), root / "rgb.png")
    write_image(texture(1), root / "grey.png")
    make_mask_set("box", 32, 2, 0, root / "box-32")
    return root


def read_rows(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, list(reader)


def test_run_writes_the_report_and_reuses_the_cache(files, tmp_path, monkeypatch):
    config = CompareConfig(methods=("telea", "regression", "diffusion"), masks=str(files / "box-32"), samples=2,
                           train=TINY, cache=str(tmp_path / "cache"), diffusion=FAST)
    quiet = lambda text: None  # noqa: E731
    summary = run_compare([str(files / "rgb.png")], config, out=tmp_path / "a", argv=["inpaint", "compare"], echo=quiet)
    assert [s["method"] for s in summary] == ["telea", "regression", "diffusion"]
    header, rows = read_rows(tmp_path / "a" / "results.csv")
    assert header == list(COLUMNS)
    assert len(rows) == 3 + 3 + 3 * 2  # 3 crops; 2 samples for diffusion only
    assert all(len(r) == len(COLUMNS) for r in rows)
    div = header.index("diversity")
    assert all(r[div] == "" for r in rows if r[1] != "diffusion")
    assert all(float(r[div]) >= 0 for r in rows if r[1] == "diffusion")
    assert [r[header.index("mask")] for r in rows[:3]] == ["0", "1", "0"]  # 2 masks cycle over 3 crops
    assert "±" in (tmp_path / "a" / "summary.md").read_text()
    for name in ("grid.png", "plane.png"):
        assert (tmp_path / "a" / name).stat().st_size > 1000
    run = json.loads((tmp_path / "a" / "run.json").read_text())
    assert run["command"] == ["inpaint", "compare"]
    assert run["masks"]["family"] == "box" and run["masks"]["masks_version"] >= 1
    assert {"torch", "kornia", "scikit-image", "opencv", "lpips", "numpy"} <= run["versions"].keys()
    assert run["checkpoints"]["rgb.png"]["regression"]["source"] == "trained"
    assert len(list((tmp_path / "cache").glob("*/*.pt"))) == 2

    def no_training(*args, **kwargs):
        raise AssertionError("trained again instead of using the cache")

    monkeypatch.setattr(compare_lib, "train", no_training)
    run_compare([str(files / "rgb.png")], config, out=tmp_path / "b", echo=quiet)
    run = json.loads((tmp_path / "b" / "run.json").read_text())
    assert {v["source"] for v in run["checkpoints"]["rgb.png"].values()} == {"cache"}
    timeless = lambda table: [r[:-1] for r in table]  # noqa: E731  (all but seconds_per_fill)
    assert timeless(read_rows(tmp_path / "b" / "results.csv")[1]) == timeless(rows)  # same seed, same numbers


def test_eval_set_pairs_crop_i_with_mask_i():
    image = torch.rand(1, 3, 96, 128) * 2 - 1
    masks = torch.ones(2, 1, 32, 32, dtype=torch.bool)
    masks[0, :, :4], masks[1, :, :, :4] = False, False
    data, ids = eval_set(image, masks)
    assert ids == [0, 1, 0]
    assert torch.equal(data.truth[1], image[0, :, 32:64, 96:])
    assert torch.equal(data.known[2], masks[0])
    assert len(eval_set(image, masks, crops=2)[0].truth) == 2


def test_summary_statistics():
    rows = [{"texture": t, "method": "m", "crop": c, "sample": s, "psnr": v, "ssim": 0.5, "lpips": 0.1,
             "sharpness": 1.0, "blur_effect": 0.3, "tone": 1.0, "detail": 2.0, "colour": 0.5, "patch_swd": 3.0,
             "diversity": math.nan, "seconds_per_fill": 0.1}
            for t, vals in (("a", [[10, 12], [20, 22]]), ("b", [[30, 30], [34, 34]]))
            for c, pair in enumerate(vals) for s, v in enumerate(pair)]
    summary = summarize(rows)
    a, b = summary
    assert a["psnr"] == 16 and a["psnr_se"] == pytest.approx(5.0)  # crop means 11 and 21
    assert b["psnr"] == 32 and math.isnan(a["diversity"])
    (mean,) = overall(summary)
    assert mean["psnr"] == 24 and mean["psnr_se"] == pytest.approx(math.sqrt(5**2 + 2**2) / 2)


def test_paired_difference_averages_samples_then_differences_crop_by_crop():
    def rows(values):  # values[crop] = per-sample LPIPS
        return [{"texture": "a", "crop": c, "sample": s, "lpips": v} for c, vs in enumerate(values) for s, v in enumerate(vs)]

    base = rows([[0.10, 0.20], [0.50, 0.50], [0.30, 0.30]])  # crop means 0.15, 0.50, 0.30
    mine = rows([[0.18], [0.52], [0.35]])  # differences 0.03, 0.02, 0.05: the crops' spread cancels
    mean, se = paired_difference(mine, base)
    assert mean == pytest.approx(0.1 / 3)
    assert se == pytest.approx(torch.tensor([0.03, 0.02, 0.05], dtype=torch.float64).std().item() / 3**0.5)
    with pytest.raises(ValueError, match="different crops"):
        paired_difference(mine[:2], base)


def test_cache_folder_and_methods(monkeypatch, tmp_path):
    monkeypatch.setenv("INPAINT_CACHE", str(tmp_path))
    with compare.make_context("compare", []) as ctx:  # the command line reads the variable, the library does not
        assert cache_folder(ctx.params["cache"]) == tmp_path
    assert cache_folder() == Path(DEFAULT_CACHE).expanduser()
    assert cache_folder(tmp_path / "x") == tmp_path / "x"
    assert parse_methods("telea, ns") == ["telea", "ns"]
    with pytest.raises(ValueError, match="unknown method"):
        parse_methods("telea,lama")


@pytest.fixture(scope="module")
def checkpoints(files, tmp_path_factory):
    """A tiny regression model trained on rgb.png, in a folder laid out for ``--checkpoints``."""
    from inpaint.io import read_image

    folder = tmp_path_factory.mktemp("ckpts")
    image, _ = read_image(files / "rgb.png")
    config = TrainConfig(model=ModelConfig(method="regression", width=8, depth=2), crop=32, batch=4, steps=5)
    ckpt = train(image, config, name="rgb.png")
    save_checkpoint(ckpt, folder / "rgb" / "regression.pt")  # found for rgb.png
    save_checkpoint(ckpt, folder / "regression.pt")  # found for any other texture
    return folder


def test_cli_runs_with_given_checkpoints(files, checkpoints, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(compare, [str(files / "rgb.png"), "--method", "regression,ns", "--masks",
                                          str(files / "box-32"), "--checkpoints", str(checkpoints), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "| rgb.png | regression |" in result.output
    assert json.loads((out / "run.json").read_text())["checkpoints"]["rgb.png"]["regression"]["source"] == "given"


@pytest.mark.parametrize("args, message", [
    (["--method", "telea,lama"], "unknown method"),
    (["--masks", "no/such/set"], "manifest"),
    (["--method", "regression", "--checkpoints", "CKPTS", "--masks", "MASKS"], "channels"),
])
def test_cli_errors_are_one_line(files, checkpoints, tmp_path, args, message):
    args = [str(checkpoints) if a == "CKPTS" else str(files / "box-32") if a == "MASKS" else a for a in args]
    # grey.png meets the RGB model at the top of the checkpoint folder: a channel mismatch
    result = CliRunner().invoke(compare, [str(files / "grey.png"), *args, "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output and not isinstance(result.exception, (ValueError, RuntimeError))


def test_cli_defaults_to_the_shipped_texture(monkeypatch, tmp_path):
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    result = CliRunner().invoke(compare, ["--method", "telea", "--crops", "1", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "| cork.png | telea | 1 |" in result.output


def test_an_interrupted_training_resumes_from_the_cache(files, tmp_path):
    from inpaint.io import read_image
    from inpaint.train import texture_meta

    image, _ = read_image(files / "rgb.png")
    config = CompareConfig(methods=("regression",), masks=str(files / "box-32"), train=TINY, cache=str(tmp_path))
    full = compare_lib.train_config(TINY, "regression", 3, config.held_out)
    path = tmp_path / compare_lib.cache_key(texture_meta(image, "rgb.png")["sha256"], full) / "regression.pt"
    save_checkpoint(train(image, replace(full, steps=5), name="rgb.png"), path)  # as if stopped at step 5
    run_compare([str(files / "rgb.png")], config, out=tmp_path / "out", echo=lambda text: None)
    used = json.loads((tmp_path / "out" / "run.json").read_text())["checkpoints"]["rgb.png"]["regression"]
    assert used == {"path": str(path), "step": TINY.steps, "source": "trained"}


def test_missing_patchmatch_fails_before_any_work(files, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "patchmatch", None)  # makes ``import patchmatch`` fail
    config = CompareConfig(methods=("ns", "patchmatch"), masks=str(files / "box-32"))
    with pytest.raises(RuntimeError, match="pip install pypatchmatch"):
        run_compare([str(files / "rgb.png")], config, out=tmp_path / "out", echo=lambda text: None)
    assert not (tmp_path / "out").exists()


def timeless(path):
    """results.csv without its timing column, seconds_per_fill."""
    header, rows = read_rows(path)
    keep = [i for i, name in enumerate(header) if name != "seconds_per_fill"]
    return [[row[i] for i in keep] for row in [header, *rows]]


def test_three_shards_merge_into_the_single_run(files, tmp_path):
    from inpaint.cli.compare import merge

    methods = "telea,patchmatch,regression,diffusion"  # 8 (texture, method) units: shards of 2, 3 and 3
    common = [str(files / "rgb.png"), str(files / "grey.png"), "--method", methods, "--masks", str(files / "box-32"),
              "--train-steps", "20", "--train-crop", "32", "--steps", "4", "--samples", "2",
              "--cache", str(tmp_path / "cache"), "--quiet"]
    whole, sharded = tmp_path / "whole", tmp_path / "sharded"
    result = CliRunner().invoke(compare, [*common, "--out", str(whole)])
    assert result.exit_code == 0, result.output
    for i in (3, 1, 2):  # any order
        result = CliRunner().invoke(compare, [*common, "--out", str(sharded), "--shard", f"{i}/3"])
        assert result.exit_code == 0, result.output
        assert not (sharded / "results.csv").exists()
    assert sorted(p.name for p in (sharded / "parts").glob("*.json")) == [f"shard-{i}-of-3.json" for i in (1, 2, 3)]
    result = CliRunner().invoke(merge, [str(sharded)])
    assert result.exit_code == 0, result.output
    assert "| grey.png | diffusion |" in result.output
    assert timeless(sharded / "results.csv") == timeless(whole / "results.csv")
    for name in ("grid.png", "plane.png"):
        assert (sharded / name).read_bytes() == (whole / name).read_bytes(), name
    a, b = (json.loads((folder / "run.json").read_text()) for folder in (whole, sharded))
    assert a["config"] == b["config"] and a["textures"] == b["textures"] and a["masks"] == b["masks"]
    assert [s["shard"] for s in b["shards"]] == ["1/3", "2/3", "3/3"]
    assert {m: v["path"] for m, v in a["checkpoints"]["grey.png"].items()} == \
        {m: v["path"] for m, v in b["checkpoints"]["grey.png"].items()}  # the shards trained nothing new


def test_a_crops_noise_is_its_own_whatever_the_batch(files, tmp_path):
    """Per-crop seeds: batches of 1 or of 3 give the same fills (up to the network's rounding)."""
    config = CompareConfig(methods=("diffusion",), masks=str(files / "box-32"), samples=2, train=TINY,
                           cache=str(tmp_path), diffusion=FAST)
    quiet = lambda text: None  # noqa: E731
    rows = {}
    for batch in (1, 3):
        run_compare([str(files / "rgb.png")], replace(config, batch=batch), out=tmp_path / str(batch), echo=quiet)
        rows[batch] = read_rows(tmp_path / str(batch) / "results.csv")[1]
    psnr = COLUMNS.index("psnr")
    for one, three in zip(rows[1], rows[3]):
        assert float(one[psnr]) == pytest.approx(float(three[psnr]), abs=1e-3)
    assert len({r[psnr] for r in rows[1]}) == len(rows[1])  # every crop and sample its own noise


def test_the_single_generator_of_a_filler_still_depends_on_the_batches(files, tmp_path):
    """Without seeds a filler keeps the old meaning: one generator drawn in turn by every call."""
    from inpaint.io import read_image

    image, _ = read_image(files / "rgb.png")
    ckpt = train(image, replace(TINY, model=replace(TINY.model, method="diffusion")), name="rgb.png")
    data = eval_set(image, torch.ones(1, 1, 32, 32, dtype=torch.bool).index_fill_(2, torch.arange(8, 24), False))[0]
    fills = {}
    for name, seeds in (("shared", None), ("own", evaluate_lib.crop_seeds(0, "rgb.png", "diffusion", 3))):
        for batch in (1, 3):
            filler = evaluate_lib.learned_filler(ckpt, FAST, 1, 0, "cpu")
            fills[name, batch] = evaluate_lib.run_fills(filler, data, batch, seeds)[0]
    # Own seeds: equal up to the rounding of a convolution over another batch size, which the chain carries on
    # (a few 1e-3 on some processors); one shared generator: other noise altogether.
    torch.testing.assert_close(fills["own", 1], fills["own", 3], atol=1e-2, rtol=0)
    assert (fills["shared", 1] - fills["shared", 3]).abs().max() > 0.2


@pytest.mark.parametrize("shards, message", [
    ([("1/2", [])], "lacks shard 2/2 of 2: run --shard 2/2"),
    ([("1/2", []), ("2/2", ["--seed", "1"])], "come from different configurations .*differ in config.seed"),
    ([("1/2", []), ("2/2", []), ("copy", [])], "shard 1/2 is duplicated"),
])
def test_merge_refuses_an_incomplete_or_mixed_set(files, tmp_path, shards, message):
    from inpaint.cli.compare import merge

    out = tmp_path / "out"
    for shard, extra in shards:
        if shard == "copy":
            (out / "parts" / "shard-1-of-2 copy.json").write_bytes((out / "parts" / "shard-1-of-2.json").read_bytes())
            continue
        args = [str(files / "rgb.png"), "--method", "telea,ns", "--masks", str(files / "box-32"), "--crops", "1",
                "--out", str(out), "--shard", shard, "--quiet", *extra]
        assert CliRunner().invoke(compare, args).exit_code == 0
    result = CliRunner().invoke(merge, [str(out)])
    assert result.exit_code != 0
    assert re.search(message, result.output), result.output
    assert "Traceback" not in result.output and not (out / "results.csv").exists()


@pytest.mark.parametrize("shard, message", [("4/3", "out of range"), ("2", "written i/n")])
def test_a_bad_shard_is_refused_before_any_work(files, tmp_path, shard, message):
    result = CliRunner().invoke(compare, [str(files / "rgb.png"), "--method", "telea", "--masks", str(files / "box-32"),
                                          "--out", str(tmp_path / "out"), "--shard", shard])
    assert result.exit_code != 0 and message in result.output
    assert not (tmp_path / "out").exists()


def test_two_workers_needing_one_model_train_it_once(files, tmp_path, monkeypatch):
    """Two workers race for one cache entry: the lock lets one train; the other waits and reads its checkpoint."""
    import threading
    import time

    from inpaint.io import read_image

    image, _ = read_image(files / "rgb.png")
    config = compare_lib.train_config(TINY, "regression", 3, 0.25)
    path = tmp_path / "key" / "regression.pt"
    calls, barrier, real_train = [], threading.Barrier(2), compare_lib.train

    def slow_train(*args, **kwargs):
        calls.append(threading.get_ident())
        time.sleep(0.5)  # long enough that the other worker arrives while this one trains
        return real_train(*args, **kwargs)

    monkeypatch.setattr(compare_lib, "train", slow_train)
    sources = []

    def worker():
        barrier.wait()
        sources.append(compare_lib._train_cached(image, config, path, "rgb.png", "cpu", lambda text: None)[1])

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert sorted(sources) == ["cache", "trained"]
