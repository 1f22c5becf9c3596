"""``inpaint fill`` in practice: folders, alpha masks, windows, outputs checked first, one overwrite rule."""

import json

import numpy as np
import pytest
import tifffile
import torch
from click.testing import CliRunner
from PIL import Image

import inpaint.checkpoint
import inpaint.windows
from inpaint.cli import cli
from inpaint.io import read_image

FAST = ["--steps", "3", "--crop", "16", "--batch", "4", "--timesteps", "20"]
H, W = 48, 80


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def assert_clean_error(result, *fragments):
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment.lower() in errors[0].lower(), result.output


def rgb(seed, h=H, w=W):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    texture = out / "tex.png"
    Image.fromarray(rgb(0)).save(texture)
    result = run("train-texture", texture, "--out", out, "--method", "diffusion", *FAST)
    assert result.exit_code == 0, result.output
    return out / "diffusion.pt"


@pytest.fixture
def mask(tmp_path):
    hole = np.zeros((H, W), np.uint8)
    hole[10:20, 30:50] = 255
    path = tmp_path / "mask.png"
    Image.fromarray(hole).save(path)
    return path


def test_a_folder_is_filled_with_one_model_load(model, mask, tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(rgb(i + 1)).save(folder / f"img{i}.png")
    (folder / "notes.txt").write_text("not an image")
    loads = []
    real = inpaint.checkpoint.load_checkpoint
    monkeypatch.setattr(inpaint.checkpoint, "load_checkpoint", lambda *a, **k: loads.append(a) or real(*a, **k))
    result = run("fill", folder, "--mask", mask, "--checkpoint", model, "--out", tmp_path / "out", "--steps", "2")
    assert result.exit_code == 0, result.output
    assert len(loads) == 1
    known = torch.ones(H, W, dtype=torch.bool)
    known[10:20, 30:50] = False
    for i in range(3):
        x, _ = read_image(folder / f"img{i}.png")
        y, _ = read_image(tmp_path / "out" / f"img{i}.png")
        assert torch.equal(x[..., known], y[..., known])


def test_alpha_is_the_mask_when_no_mask_is_given(model, tmp_path):
    rgba = np.dstack([rgb(5), np.full((H, W), 255, np.uint8)])
    rgba[5:15, 10:30, 3] = 0
    Image.fromarray(rgba).save(tmp_path / "cut.png")
    result = run("fill", tmp_path / "cut.png", "--checkpoint", model, "--out", tmp_path / "filled.png", "--steps", "2",
                 "--quiet")
    assert result.exit_code == 0, result.output
    assert result.output == ""  # --quiet
    back = np.asarray(Image.open(tmp_path / "filled.png"))
    assert back.shape == (H, W, 4) and (back[..., 3] == 255).all()
    opaque = rgba[..., 3] == 255
    np.testing.assert_array_equal(back[opaque], rgba[opaque])


def test_fill_runs_on_windows_around_the_holes(model, tmp_path, monkeypatch):
    big_h, big_w = 200, 328
    Image.fromarray(rgb(6, big_h, big_w)).save(tmp_path / "big.png")
    hole = np.zeros((big_h, big_w), np.uint8)
    hole[20:30, 20:30] = hole[150:160, 280:300] = 255
    Image.fromarray(hole).save(tmp_path / "m.png")
    shapes = []
    real = inpaint.windows.fill
    monkeypatch.setattr(inpaint.windows, "fill",
                        lambda m, c, x, k, **kw: shapes.append(x.shape) or real(m, c, x, k, **kw))
    result = run("fill", tmp_path / "big.png", "--mask", tmp_path / "m.png", "--checkpoint", model,
                 "--out", tmp_path / "o.png", "--steps", "2")
    assert result.exit_code == 0, result.output
    assert shapes and all(s[-2] * s[-1] < big_h * big_w / 4 for s in shapes), shapes


def test_outputs_are_checked_before_any_work(model, mask, tmp_path, monkeypatch):
    Image.fromarray(rgb(1)).save(tmp_path / "a.png")
    Image.fromarray(rgb(2)).save(tmp_path / "b.png")
    (tmp_path / "a_file").write_text("x")
    monkeypatch.setattr(inpaint.checkpoint, "load_checkpoint", lambda *a, **k: pytest.fail("model loaded"))
    assert_clean_error(run("fill", tmp_path / "a.png", tmp_path / "b.png", "--mask", mask, "--checkpoint", model,
                           "--out", tmp_path / "a_file"), "is a file", "folder")
    (tmp_path / "done.png").write_text("x")
    assert_clean_error(run("fill", tmp_path / "a.png", "--mask", mask, "--checkpoint", model,
                           "--out", tmp_path / "done.png"), "exists", "--overwrite")
    assert_clean_error(run("fill", tmp_path / "a.png", "--mask", mask, "--checkpoint", model,
                           "--out", tmp_path / "x.xyz"), "extension")


def test_overwrite_replaces_an_output(model, mask, tmp_path):
    Image.fromarray(rgb(1)).save(tmp_path / "a.png")
    (tmp_path / "done.png").write_text("old")
    result = run("fill", tmp_path / "a.png", "--mask", mask, "--checkpoint", model, "--out", tmp_path / "done.png",
                 "--steps", "1", "--overwrite")
    assert result.exit_code == 0, result.output
    assert read_image(tmp_path / "done.png")[0].shape == (1, 3, H, W)


@pytest.mark.parametrize("case", ["empty folder", "mixed sizes", "opaque alpha", "no alpha", "bad tiff"])
def test_bad_input_is_a_one_line_error(model, mask, tmp_path, case):
    args, fragments = [], []
    if case == "empty folder":
        (tmp_path / "empty").mkdir()
        args, fragments = [tmp_path / "empty", "--mask", mask], ["no image"]
    elif case == "mixed sizes":
        Image.fromarray(rgb(1)).save(tmp_path / "a.png")
        Image.fromarray(rgb(2, H, W + 8)).save(tmp_path / "b.png")
        args, fragments = [tmp_path / "a.png", tmp_path / "b.png", "--mask", mask], ["b.png", "one size"]
    elif case == "opaque alpha":
        Image.fromarray(np.dstack([rgb(1), np.full((H, W), 255, np.uint8)])).save(tmp_path / "a.png")
        args, fragments = [tmp_path / "a.png"], ["a.png", "no transparent pixel"]
    elif case == "no alpha":
        Image.fromarray(rgb(1)).save(tmp_path / "a.png")
        args, fragments = [tmp_path / "a.png"], ["no alpha", "--mask"]
    else:
        tifffile.imwrite(tmp_path / "a.tif", np.zeros((H, W, 3), np.float32), photometric="rgb")
        args, fragments = [tmp_path / "a.tif", "--mask", mask], ["a.tif", "unsupported"]
    out = tmp_path / ("out" if case in ("empty folder", "mixed sizes") else "out.png")
    result = run("fill", *args, "--checkpoint", model, "--out", out, "--steps", "1")
    assert_clean_error(result, *fragments)


def test_restore_reuses_a_checkpoint_instead_of_training(model, mask, tmp_path, monkeypatch):
    Image.fromarray(rgb(3)).save(tmp_path / "scan.png")
    monkeypatch.setattr(inpaint.restore, "train_restorer", lambda *a, **k: pytest.fail("trained"))
    result = run("restore", tmp_path / "scan.png", "--mask", mask, "--out", tmp_path / "r.png",
                 "--checkpoint", model, "--sample-steps", "2")
    assert result.exit_code == 0, result.output
    assert_clean_error(run("restore", tmp_path / "scan.png", "--mask", mask, "--out", tmp_path / "r.png",
                           "--checkpoint", model), "exists", "--overwrite")


def test_info_json(model):
    result = run("info", model, "--json")
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert record["method"] == "diffusion" and record["step"] == 3
    assert len(record["file_sha256"]) == 64 and "EMA weights" in record["holds"]
    assert record["config"]["model"]["method"] == "diffusion"


def test_threads_option_sets_torch_threads(model, mask, tmp_path):
    Image.fromarray(rgb(1)).save(tmp_path / "a.png")
    before = torch.get_num_threads()
    try:
        result = run("fill", tmp_path / "a.png", "--mask", mask, "--checkpoint", model, "--out", tmp_path / "o.png",
                     "--steps", "1", "--threads", "1", "--quiet")
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_progress_bars_follow_tqdm_disable_and_quiet(monkeypatch):
    from inpaint.cli.progress import progress_disabled

    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert progress_disabled() is None  # tqdm decides: off when stderr is not a terminal
    assert progress_disabled(quiet=True) is True
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert progress_disabled() is True


def test_fill_offers_every_sampler_of_the_library():
    from inpaint.cli.sampler_options import SAMPLER_NAMES
    from inpaint.sampling import SAMPLERS

    assert SAMPLER_NAMES == SAMPLERS


def test_a_folder_of_masks_matched_by_name_a_missing_one_reported_and_every_output_recorded(tmp_path):
    import json

    images, masks = tmp_path / "scans", tmp_path / "masks"
    images.mkdir(), masks.mkdir()
    for i in range(20):
        Image.fromarray(rgb(i, 40, 48)).save(images / f"scan{i:02d}.png")
        if i != 7:  # scan07 has no mask
            hole = np.zeros((40, 48), np.uint8)
            hole[5 + i % 10:15 + i % 10, 10:20] = 255
            Image.fromarray(hole).save(masks / f"scan{i:02d}.png")
    Image.fromarray(np.full((40, 48), 255, np.uint8)).save(masks / "stray.png")
    result = run("fill", images, "--mask", masks, "--checkpoint", "cork/regression", "--out", tmp_path / "out")
    assert result.exit_code == 1, result.output
    assert "scan07.png" in result.output and "stray.png" in result.output and "19 of 20" in result.output
    outputs = sorted((tmp_path / "out").glob("*.png"))
    assert len(outputs) == 19 and not (tmp_path / "out" / "scan07.png").exists()
    record = json.loads((tmp_path / "out" / "scan03.png.json").read_text())
    assert record["tool"]["distribution"] == "internal-inpaint" and record["model"]["name"] == "cork/regression"
    assert record["mask"]["path"].endswith("scan03.png") and len(record["input"]["sha256"]) == 64
    assert record["hole"]["box"] == {"top": 8, "left": 10, "height": 10, "width": 10}
    assert abs(record["hole"]["fraction"] - 100 / (40 * 48)) < 1e-9 and record["seed"] == 0 and "made" in record
    for path in outputs:  # known pixels exact, the hole of its own mask
        assert (path.parent / f"{path.name}.json").is_file()
    result = run("fill", images / "scan01.png", "--mask", masks / "scan01.png", "--checkpoint", "cork/regression",
                 "--out", tmp_path / "one.png", "--no-record")
    assert result.exit_code == 0 and not (tmp_path / "one.png.json").exists()
