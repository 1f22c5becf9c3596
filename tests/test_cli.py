"""The command line end to end, with tiny models, and its error handling."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from inpaint.cli import cli
from inpaint.checkpoint import load_checkpoint
from inpaint.io import read_image

FAST = ["--steps", "3", "--crop", "16", "--batch", "4", "--timesteps", "20"]


@pytest.fixture(scope="module")
def texture(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("tex") / "tex.png"
    Image.fromarray(rng.integers(0, 256, (48, 80, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture(scope="module")
def trained(texture, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    result = CliRunner().invoke(cli, ["train-texture", str(texture), "--out", str(out), *FAST])
    assert result.exit_code == 0, result.output
    return out


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_clean_error(result, fragment):
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert fragment.lower() in result.output.lower(), result.output
    assert len([line for line in result.output.splitlines() if line.startswith("Error")]) == 1


@pytest.fixture
def hole_mask(tmp_path):
    mask = np.zeros((48, 80), np.uint8)
    mask[10:30, 20:50] = 255
    path = tmp_path / "mask.png"
    Image.fromarray(mask).save(path)
    return path


def test_train_texture_writes_checkpoints_and_pictures(trained):
    for name in ("regression.pt", "diffusion.pt", "loss.png", "fills.png"):
        assert (trained / name).is_file(), name


def test_info_prints_method_step_and_parameters(trained):
    result = run("info", trained / "diffusion.pt")
    assert result.exit_code == 0, result.output
    assert "method: diffusion" in result.output and "step: 3" in result.output
    n = int(next(line for line in result.output.splitlines() if line.startswith("parameters: ")).split()[1])
    assert 150_000 <= n <= 175_000


def test_resume_continues_to_more_steps(texture, trained, tmp_path):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(trained, out)
    result = run("train-texture", texture, "--out", out, "--method", "regression", "--resume", *FAST[:0],
                 "--steps", "5", "--crop", "16", "--batch", "4", "--timesteps", "20")
    assert result.exit_code == 0, result.output
    assert "step: 5" in run("info", out / "regression.pt").output


@pytest.mark.parametrize("option, value, field", [("--timesteps", "30", "diffusion.timesteps=20"),
                                                   ("--lr", "0.01", "lr=0.001"), ("--crop", "24", "crop=16")])
def test_resume_refuses_other_settings_in_one_line(texture, trained, tmp_path, option, value, field):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(trained, out)
    args = dict(zip(FAST[::2], FAST[1::2])) | {"--steps": "5", option: value}
    result = run("train-texture", texture, "--out", out, "--method", "diffusion", "--resume",
                 *[x for kv in args.items() for x in kv])
    assert_clean_error(result, field)
    assert "step: 3" in run("info", out / "diffusion.pt").output  # nothing written


def test_existing_checkpoint_is_not_overwritten_without_resume(texture, trained):
    assert_clean_error(run("train-texture", texture, "--out", trained, *FAST), "--resume")


@pytest.mark.parametrize("method", ["regression", "diffusion"])
def test_fill_keeps_known_pixels(texture, trained, hole_mask, tmp_path, method):
    out = tmp_path / "out.png"
    result = run("fill", texture, "--mask", hole_mask, "--checkpoint", trained / f"{method}.pt", "--out", out)
    assert result.exit_code == 0, result.output
    x, _ = read_image(texture)
    y, info = read_image(out)
    assert info.mode == "RGB" and y.shape == x.shape
    known = torch.ones(48, 80, dtype=torch.bool)
    known[10:30, 20:50] = False
    assert torch.equal(x[..., known], y[..., known])


def test_fill_several_samples_with_ddim(texture, trained, hole_mask, tmp_path):
    result = run("fill", texture, "--mask", hole_mask, "--checkpoint", trained / "diffusion.pt",
                 "--out", tmp_path / "o.png", "--samples", "2", "--sampler", "ddim", "--steps", "5", "--eta", "0.5",
                 "--no-paste")
    assert result.exit_code == 0, result.output
    a, _ = read_image(tmp_path / "o_0.png")
    b, _ = read_image(tmp_path / "o_1.png")
    assert not torch.equal(a, b)


def test_missing_image(trained, hole_mask):
    assert_clean_error(run("fill", "nope.png", "--mask", hole_mask, "--checkpoint", trained / "regression.pt",
                           "--out", "x.png"), "nope.png")


def test_not_an_image(tmp_path, trained, hole_mask):
    bad = tmp_path / "bad.png"
    bad.write_text("hello")
    assert_clean_error(run("fill", bad, "--mask", hole_mask, "--checkpoint", trained / "regression.pt",
                           "--out", tmp_path / "x.png"), "bad.png")
    assert_clean_error(run("train-texture", bad, "--out", tmp_path / "r", *FAST), "bad.png")


def test_mask_of_another_size(texture, trained, tmp_path):
    mask = tmp_path / "m.png"
    Image.fromarray(np.full((40, 40), 255, np.uint8)).save(mask)
    assert_clean_error(run("fill", texture, "--mask", mask, "--checkpoint", trained / "regression.pt",
                           "--out", tmp_path / "x.png"), "size")
    assert not (tmp_path / "x.png").exists()


def test_mask_without_hole(texture, trained, tmp_path):
    mask = tmp_path / "m.png"
    Image.fromarray(np.zeros((48, 80), np.uint8)).save(mask)
    assert_clean_error(run("fill", texture, "--mask", mask, "--checkpoint", trained / "regression.pt",
                           "--out", tmp_path / "x.png"), "hole")


def test_texture_smaller_than_crop(texture, tmp_path):
    assert_clean_error(run("train-texture", texture, "--out", tmp_path / "r", "--crop", "64", "--steps", "1"), "crop")


def test_checkpoint_of_another_kind(texture, hole_mask, tmp_path):
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {"w": torch.zeros(3)}}, other)
    assert_clean_error(run("fill", texture, "--mask", hole_mask, "--checkpoint", other, "--out", tmp_path / "x.png"),
                       "not an inpaint checkpoint")
    assert_clean_error(run("info", other), "not an inpaint checkpoint")


def test_corrupted_checkpoint(trained, tmp_path):
    broken = tmp_path / "broken.pt"
    broken.write_bytes((trained / "diffusion.pt").read_bytes()[:5000])
    assert_clean_error(run("info", broken), "not a readable checkpoint")


def test_bad_options(texture, tmp_path):
    assert_clean_error(run("train-texture", texture, "--method", "gan", "--out", tmp_path / "r"), "gan")
    assert_clean_error(run("train-texture", texture, "--train-masks", "blob", "--out", tmp_path / "r"), "blob")


def test_repaint_sampler_needs_a_repaint_model(texture, trained, hole_mask, tmp_path):
    assert_clean_error(run("fill", texture, "--mask", hole_mask, "--checkpoint", trained / "diffusion.pt",
                           "--sampler", "repaint", "--out", tmp_path / "x.png"), "repaint")


def test_channel_mismatch(trained, hole_mask, tmp_path):
    grey = tmp_path / "grey.png"
    Image.fromarray(np.zeros((48, 80), np.uint8)).save(grey)
    assert_clean_error(run("fill", grey, "--mask", hole_mask, "--checkpoint", trained / "regression.pt",
                           "--out", tmp_path / "x.png"), "channels")


def test_demo_runs_on_the_shipped_checkpoints(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(Path(__file__).parents[1])
    result = run("demo", "--crops", "1", "--steps", "20", "--out", tmp_path / "demo")
    assert result.exit_code == 0, result.output
    table = result.output[result.output.index("| texture"):]
    assert all(f"| cork.png | {m} |" in table for m in ("regression", "diffusion", "patchmatch"))
    recorded = json.loads((tmp_path / "demo" / "run.json").read_text())["config"]["diffusion"]
    assert (recorded["sampler"], recorded["start"], recorded["steps"]) == ("dpmpp-2m-sde", "patchmatch", 20)
    for name in ("grid.png", "plane.png", "summary.md", "results.csv", "run.json"):
        assert (tmp_path / "demo" / name).is_file(), name


def test_train_texture_to_a_time_budget(texture, tmp_path):
    out = tmp_path / "budget"
    result = run("train-texture", texture, "--out", out, "--method", "diffusion", "--minutes", "0.02", "--crop", "16",
                 "--batch", "4", "--timesteps", "20", "--lr-warmup", "30", "--lr-decay", "cosine", "--augment", "flips",
                 "--noise-levels", "lognormal", "--precision", "fp32", "--bottleneck", "fourier",
                 "--train-strength", "0.6")
    assert result.exit_code == 0, result.output
    ckpt = load_checkpoint(out / "diffusion.pt")
    assert ckpt.step == ckpt.config.steps and ckpt.timing["budget_minutes"] == 0.02
    assert ckpt.timing["plan"][-1] == [ckpt.timing["plan"][-1][0], ckpt.step]
    assert ckpt.config.model.bottleneck == "fourier" and ckpt.config.diffusion.train_strength == 0.6
    assert (out / "fills.png").is_file()  # the preview of a model of part of the chain starts from a guide
    assert (ckpt.config.lr_decay, ckpt.config.augment, ckpt.config.diffusion.noise_levels) == ("cosine", "flips",
                                                                                               "lognormal")
    assert ckpt.config.precision == "fp32"
    assert f"{ckpt.step} steps" in result.output


def test_train_texture_budget_errors(texture, trained, tmp_path):
    assert_clean_error(run("train-texture", texture, "--out", trained, "--minutes", "1", "--resume"), "--minutes")
    assert_clean_error(run("train-texture", texture, "--out", tmp_path / "r", "--minutes", "0.01", "--lr-decay",
                           "linear", "--lr-warmup", "3", *FAST[2:]), "lr_warmup")


def test_train_texture_quiet_prints_nothing_and_ctrl_c_exits_130_saying_where_progress_is(texture, tmp_path,
                                                                                          monkeypatch):
    result = run("train-texture", texture, "--out", tmp_path / "q", "--method", "regression", "--quiet",
                 "--threads", "1", *FAST)
    assert result.exit_code == 0 and result.output == "", result.output

    import inpaint.cli.train as train_command

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(train_command, "train", interrupt)
    result = run("train-texture", texture, "--out", tmp_path / "i", "--method", "regression", *FAST)
    assert result.exit_code == 130, (result.exit_code, result.output)
    assert "interrupted" in result.output and "--resume" in result.output
