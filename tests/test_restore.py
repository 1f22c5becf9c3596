"""Restoring a damaged image from its own pixels: modes, the window planner, the windowed fill, bad input."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from inpaint.checkpoint import load_checkpoint
from inpaint.cli.restore import restore as restore_command
from inpaint.fill import SamplerConfig
from inpaint.restore import check_restore, restore, restore_config, train_restorer
from inpaint.windows import fill_windows, plan_windows, window_batches
from inpaint.unet import UNet

H, W = 48, 64
TINY_CLI = ["--train-steps", "2", "--crop", "16", "--batch", "2", "--sample-steps", "3"]


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    """Every test here runs tiny tensors: one thread is faster, and fair to other processes."""


def hole_map() -> np.ndarray:
    """(H, W) bool: two holes, True in the hole."""
    hole = np.zeros((H, W), bool)
    hole[10:20, 8:22] = True
    hole[30:40, 40:56] = True
    return hole


def known_tensor(hole: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(~hole)[None, None]


def save_mask(path, hole):
    Image.fromarray(np.where(hole, 255, 0).astype(np.uint8)).save(path)
    return path


def damaged_file(path, mode, hole, seed=0):
    """A random image of ``mode`` with the hole zeroed; returns (path, the pixel array written)."""
    rng = np.random.default_rng(seed)
    if mode == "I;16":
        arr = rng.integers(1000, 60000, (H, W), dtype=np.uint16)
        arr[hole] = 0
        Image.fromarray(arr).save(path)
    else:
        channels = {"L": 1, "RGB": 3, "RGBA": 4, "P": 3}[mode]
        arr = rng.integers(20, 236, (H, W, channels), dtype=np.uint8)
        arr[hole] = 0
        im = Image.fromarray(arr[..., 0] if channels == 1 else arr)
        if mode == "P":
            im = im.quantize(colors=64)
        im.save(path)
    with Image.open(path) as im:
        return path, np.asarray(im.convert("RGB") if mode == "P" else im)


def run(*args):
    return CliRunner().invoke(restore_command, [str(a) for a in args])


# --- every image mode through the command -------------------------------------------------------------------------


@pytest.mark.parametrize("mode, written_mode", [("L", "L"), ("RGB", "RGB"), ("RGBA", "RGBA"), ("P", "RGB"),
                                                ("I;16", "I;16")])
def test_restore_keeps_mode_depth_and_known_pixels(tmp_path, mode, written_mode):
    hole = hole_map()
    src, before = damaged_file(tmp_path / "damaged.png", mode, hole)
    out = tmp_path / "restored.png"
    result = run(src, "--mask", save_mask(tmp_path / "mask.png", hole), "--out", out, *TINY_CLI)
    assert result.exit_code == 0, result.output
    with Image.open(out) as im:
        assert im.mode == written_mode  # palette images come back as RGB (io.write_image: a fill adds colours)
        after = np.asarray(im)
    assert after.dtype == before.dtype and after.shape == before.shape
    np.testing.assert_array_equal(after[~hole], before[~hole])
    filled = after[hole]
    assert filled.any() and len(np.unique(filled)) > 1, "the hole was left as it was"


def test_restore_stack_of_two_files(tmp_path):
    hole = hole_map()
    a, before_a = damaged_file(tmp_path / "albedo.png", "RGB", hole, seed=1)
    b, before_b = damaged_file(tmp_path / "height.png", "I;16", hole, seed=2)
    outs = [tmp_path / "albedo_out.png", tmp_path / "height_out.png"]
    result = run(a, b, "--mask", save_mask(tmp_path / "mask.png", hole), "--out", outs[0], "--out", outs[1],
                 *TINY_CLI, "--save-checkpoint", tmp_path / "model.pt")
    assert result.exit_code == 0, result.output
    for path, before, mode in zip(outs, (before_a, before_b), ("RGB", "I;16")):
        with Image.open(path) as im:
            assert im.mode == mode and im.size == (W, H)
            after = np.asarray(im)
        assert after.dtype == before.dtype
        np.testing.assert_array_equal(after[~hole], before[~hole])
        assert len(np.unique(after[hole])) > 1
    ckpt = load_checkpoint(tmp_path / "model.pt")
    assert ckpt.config.model.image_channels == 4 and ckpt.step == 2 and ckpt.config.diffusion.prediction == "eps"


def test_existing_output_is_replaced_only_with_overwrite(tmp_path):
    hole = hole_map()
    src, before = damaged_file(tmp_path / "d.png", "L", hole)
    out = tmp_path / "new" / "r.png"
    mask = save_mask(tmp_path / "m.png", hole)
    assert run(src, "--mask", mask, "--out", out, *TINY_CLI).exit_code == 0
    first = out.read_bytes()
    refused = run(src, "--mask", mask, "--out", out, *TINY_CLI)
    assert refused.exit_code != 0 and "--overwrite" in refused.output and out.read_bytes() == first
    result = run(src, "--mask", mask, "--out", out, "--overwrite", *TINY_CLI)
    assert result.exit_code == 0, result.output
    np.testing.assert_array_equal(np.asarray(Image.open(out))[~hole], before[~hole])


def test_samples_write_numbered_files(tmp_path):
    hole = hole_map()
    src, _ = damaged_file(tmp_path / "d.png", "L", hole)
    result = run(src, "--mask", save_mask(tmp_path / "m.png", hole), "--out", tmp_path / "r.png", "--samples", "2",
                 *TINY_CLI)
    assert result.exit_code == 0, result.output
    a, b = (np.asarray(Image.open(tmp_path / f"r_{i}.png")) for i in range(2))
    assert not np.array_equal(a, b)


# --- the library ------------------------------------------------------------------------------------------------


def tiny(method="diffusion", steps=3, **kw):
    return restore_config(3, method=method, steps=steps, crop=16, batch=2, width=8, timesteps=20, **kw)


@pytest.mark.parametrize("method", ["regression", "diffusion", "repaint"])
def test_library_restore_each_method(method):
    hole = hole_map()
    hole[:, 60:] = False
    image = torch.rand(1, 3, H, W, generator=torch.Generator().manual_seed(0)) * 2 - 1
    known = known_tensor(hole)
    sampler = SamplerConfig(steps=4, jump_length=2, jump_n_sample=2)
    runs = [restore(image, known, tiny(method), sampler=sampler, generator=torch.Generator().manual_seed(3))[0]
            for _ in range(2)]
    out = runs[0]
    assert out.shape == (1, 1, 3, H, W)
    k = known.expand(1, 3, H, W)
    assert torch.equal(out[0][k], image[k])
    assert not torch.equal(out[0][~k], image[~k])
    assert torch.equal(runs[0], runs[1]), "the same seeds must give the same restoration"


def test_nan_in_the_hole_does_not_spread():
    hole = hole_map()
    image = torch.rand(1, 3, H, W, generator=torch.Generator().manual_seed(0)) * 2 - 1
    image[..., torch.from_numpy(hole)] = float("nan")
    out, ckpt = restore(image, known_tensor(hole), tiny("diffusion"), sampler=SamplerConfig(steps=3))
    assert torch.isfinite(out).all() and torch.isfinite(ckpt.losses).all()


def test_conditional_training_never_sees_hole_values():
    hole = hole_map()
    known = known_tensor(hole)
    image = torch.rand(1, 3, H, W, generator=torch.Generator().manual_seed(0)) * 2 - 1
    spoiled = image.clone()
    spoiled[..., torch.from_numpy(hole)] = 1e6
    a = train_restorer(image.masked_fill(~known, 0), known, tiny(steps=4)).losses
    b = train_restorer(spoiled, known, tiny(steps=4)).losses
    assert torch.equal(a, b)


def test_repaint_crops_avoid_the_hole():
    hole = np.zeros((H, W), bool)
    hole[:, 40:] = True  # crops of 16 fit only in the left 40 columns
    known = known_tensor(hole)
    image = torch.rand(1, 3, H, W, generator=torch.Generator().manual_seed(0)) * 2 - 1
    spoiled = image.clone()
    spoiled[..., torch.from_numpy(hole)] = float("nan")
    losses = train_restorer(spoiled, known, tiny("repaint", steps=4)).losses
    assert torch.isfinite(losses).all()
    assert torch.equal(losses, train_restorer(image, known, tiny("repaint", steps=4)).losses)


def test_repaint_without_a_hole_free_crop_is_refused():
    hole = np.zeros((H, W), bool)
    hole[::12, :] = True  # a line every 12 rows: no 16x16 square avoids them
    with pytest.raises(ValueError, match="avoids the hole"):
        check_restore(torch.zeros(1, 3, H, W), known_tensor(hole), tiny("repaint"))
    check_restore(torch.zeros(1, 3, H, W), known_tensor(hole), tiny("diffusion"))  # conditional: fine


# --- the window planner -------------------------------------------------------------------------------------------


def overlaps(a, b):
    rows = a.top < b.top + b.height and b.top < a.top + a.height
    return rows and a.left < b.left + b.width and b.left < a.left + a.width


def covered(windows, shape):
    cover = np.zeros(shape, bool)
    for w in windows:
        for p in w.parts:
            assert w.box.top <= p.top and p.top + p.height <= w.box.top + w.box.height
            assert w.box.left <= p.left and p.left + p.width <= w.box.left + w.box.width
            cover[p.slices()] = True
    return cover


def scattered_holes(h, w, count, seed):
    rng = np.random.default_rng(seed)
    hole = np.zeros((h, w), bool)
    for y, x, r in zip(rng.integers(0, h, count), rng.integers(0, w, count), rng.integers(2, 9, count)):
        hole[max(0, y - r) : y + r, max(0, x - r) : x + r] = True
    return hole


@pytest.mark.parametrize("shape", [(300, 420), (301, 419), (60, 37)])
def test_windows_cover_every_hole_pixel_inside_the_image_in_multiples_of_8(shape):
    hole = scattered_holes(*shape, count=40, seed=sum(shape))
    windows = plan_windows(known_tensor(hole), margin=16, max_side=96)
    assert not (hole & ~covered(windows, shape)).any()
    for w in windows:
        b = w.box
        assert 0 <= b.top and b.top + b.height <= shape[0] and 0 <= b.left and b.left + b.width <= shape[1]
        assert b.height % 8 == 0 or b.height == shape[0]
        assert b.width % 8 == 0 or b.width == shape[1]
        # the context margin is there wherever the image allows it
        for p in w.parts:
            assert p.top - b.top >= min(16, p.top) and p.left - b.left >= min(16, p.left)


def test_overlapping_windows_merge_and_distant_ones_do_not():
    hole = np.zeros((200, 400), bool)
    hole[50:60, 50:60] = True
    hole[50:60, 80:90] = True  # 20 px away: the grown boxes overlap
    hole[150:160, 330:340] = True  # far from both
    windows = plan_windows(known_tensor(hole), margin=16, max_side=128)
    assert len(windows) == 2
    merged = next(w for w in windows if len(w.parts) == 2)
    assert merged.box.height <= 128 and merged.box.width <= 128
    assert not overlaps(windows[0].box, windows[1].box)
    # the same pair with a cap too small for their union stays two windows
    assert len(plan_windows(known_tensor(hole), margin=16, max_side=64)) == 3


def test_scattered_holes_do_not_chain_into_one_frame_sized_window():
    hole = scattered_holes(512, 512, count=150, seed=0)
    windows = plan_windows(known_tensor(hole), margin=32, max_side=128)
    biggest = max(max(w.box.height, w.box.width) for w in windows)
    assert biggest <= 128 and len(windows) > 10


def test_window_batches_group_same_size_disjoint_windows_within_budget():
    hole = scattered_holes(400, 400, count=60, seed=1)
    windows = plan_windows(known_tensor(hole), margin=16, max_side=96)
    batches = window_batches(windows, samples=2, batch_pixels=64 * 64 * 8)
    assert sorted(id(w) for b in batches for w in b) == sorted(id(w) for w in windows)
    for batch in batches:
        sizes = {(w.box.height, w.box.width) for w in batch}
        assert len(sizes) == 1
        h, w_ = sizes.pop()
        assert len(batch) == 1 or len(batch) * h * w_ * 2 <= 64 * 64 * 8
        boxes = [w.box for w in batch]
        assert not any(overlaps(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


# --- the windowed fill ------------------------------------------------------------------------------------------


class Recording(torch.nn.Module):
    """A network that records the spatial size of every input it sees."""

    def __init__(self, net):
        super().__init__()
        self.net, self.sizes = net, []

    def forward(self, x, t=None):
        self.sizes.append(tuple(x.shape[-2:]))
        return self.net(x, t)


@pytest.mark.parametrize("method", ["regression", "diffusion"])
def test_windowed_fill_touches_only_hole_pixels_and_never_the_whole_frame(method):
    shape = (200, 264)
    hole = scattered_holes(*shape, count=12, seed=3)
    config = tiny(method)
    net = Recording(UNet(config.model, generator=torch.Generator().manual_seed(0)).eval())
    image = torch.rand(1, 3, *shape, generator=torch.Generator().manual_seed(1)) * 2 - 1
    known = known_tensor(hole)
    out = fill_windows(net, config, image, known, margin=16, max_side=96, samples=2,
                       sampler=SamplerConfig(steps=3), generator=torch.Generator().manual_seed(0))
    assert out.shape == (2, 1, 3, *shape)
    k = known.expand(1, 3, *shape)
    for sample in out:
        assert torch.equal(sample[k], image[k])
        assert (sample[~k] != image[~k]).float().mean() > 0.99
    assert net.sizes and max(h * w for h, w in net.sizes) < shape[0] * shape[1] / 2


def test_later_windows_see_earlier_fills_as_known():
    """Two overlapping windows too big to merge: the second is filled knowing the first's pixels."""
    shape = (64, 200)
    hole = np.zeros(shape, bool)
    hole[20:40, 10:90] = True
    hole[20:40, 100:190] = True
    known = known_tensor(hole)
    windows = plan_windows(known, margin=16, max_side=96)
    assert len(windows) == 2 and len(window_batches(windows)) == 2
    seen = []

    class Spy(torch.nn.Module):
        def forward(self, x, t=None):
            seen.append(x[:, -1].bool().clone())  # the last input channel is the known mask
            return torch.zeros(x.shape[0], 3, *x.shape[-2:])

    net = Spy()
    net.register_parameter("p", torch.nn.Parameter(torch.zeros(1)))  # fill_windows reads the device from it
    fill_windows(net, tiny("regression"), torch.zeros(1, 3, *shape), known, windows=windows)
    (first,), (second,) = window_batches(windows)
    filled_first = torch.zeros(shape, dtype=torch.bool)
    filled_first[first.parts[0].slices()] = True
    assert overlaps(first.box, second.box) and (filled_first[second.box.slices()]).any()
    assert torch.equal(seen[0][0], known[0, 0][first.box.slices()])
    assert torch.equal(seen[1][0], (known[0, 0] | filled_first)[second.box.slices()])


# --- bad input through the command ----------------------------------------------------------------------------------


def assert_clean_error(result, out_paths, fragment):
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1, result.output
    assert fragment.lower() in result.output.lower(), result.output
    for p in out_paths:
        assert not p.exists()


@pytest.fixture
def files(tmp_path):
    hole = hole_map()
    src, _ = damaged_file(tmp_path / "img.png", "RGBA", hole)
    return tmp_path, src, save_mask(tmp_path / "mask.png", hole)


def test_mask_of_another_size(files):
    tmp, src, _ = files
    mask = save_mask(tmp / "small.png", np.ones((H - 8, W), bool) & (np.arange(W) < 10))
    assert_clean_error(run(src, "--mask", mask, "--out", tmp / "o.png", *TINY_CLI), [tmp / "o.png"], "differs")


@pytest.mark.parametrize("fill_value, fragment", [(True, "all hole"), (False, "no hole")])
def test_mask_all_hole_or_no_hole(files, fill_value, fragment):
    tmp, src, _ = files
    mask = save_mask(tmp / "m2.png", np.full((H, W), fill_value))
    assert_clean_error(run(src, "--mask", mask, "--out", tmp / "o.png", *TINY_CLI), [tmp / "o.png"], fragment)


def test_image_smaller_than_the_crop(files):
    tmp, src, mask = files
    result = run(src, "--mask", mask, "--out", tmp / "o.png", "--train-steps", "1")  # default crop 64 > 48
    assert_clean_error(result, [tmp / "o.png"], "at most 48")


@pytest.mark.parametrize("content", [b"", b"not a png at all", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_unreadable_image(files, content):
    tmp, _, mask = files
    bad = tmp / "bad.png"
    bad.write_bytes(content)
    assert_clean_error(run(bad, "--mask", mask, "--out", tmp / "o.png", *TINY_CLI), [tmp / "o.png"], "bad.png")


def test_missing_mask_file(files):
    tmp, src, _ = files
    assert_clean_error(run(src, "--mask", tmp / "nope.png", "--out", tmp / "o.png", *TINY_CLI), [tmp / "o.png"],
                       "no such file")


def test_output_count_must_match_images(files):
    tmp, src, mask = files
    outs = [tmp / "a.png", tmp / "b.png"]
    assert_clean_error(run(src, "--mask", mask, "--out", outs[0], "--out", outs[1], *TINY_CLI), outs, "one --out per")


def test_output_format_that_cannot_hold_the_mode(files):
    tmp, src, mask = files  # RGBA cannot be a JPEG: refused before training
    assert_clean_error(run(src, "--mask", mask, "--out", tmp / "o.jpg", *TINY_CLI), [tmp / "o.jpg"], "o.jpg")


def test_repaint_with_no_hole_free_crop(files):
    tmp, src, _ = files
    hole = np.zeros((H, W), bool)
    hole[::12] = True
    mask = save_mask(tmp / "lines.png", hole)
    result = run(src, "--mask", mask, "--out", tmp / "o.png", *TINY_CLI, "--method", "repaint")
    assert_clean_error(result, [tmp / "o.png"], "avoids the hole")


def test_crop_not_a_multiple_of_8(files):
    tmp, src, mask = files
    result = run(src, "--mask", mask, "--out", tmp / "o.png", "--crop", "20", "--train-steps", "1")
    assert_clean_error(result, [tmp / "o.png"], "multiple of 8")


def test_restore_to_a_time_budget_records_it_in_the_saved_model(tmp_path):
    hole = hole_map()
    src, before = damaged_file(tmp_path / "damaged.png", "RGB", hole)
    out, model = tmp_path / "restored.png", tmp_path / "model.pt"
    result = run(src, "--mask", save_mask(tmp_path / "mask.png", hole), "--out", out, *TINY_CLI, "--minutes", "0.02",
                 "--save-checkpoint", model)
    assert result.exit_code == 0, result.output
    ckpt = load_checkpoint(model)
    assert ckpt.timing["budget_minutes"] == 0.02 and ckpt.step == ckpt.config.steps
    with Image.open(out) as im:
        np.testing.assert_array_equal(np.asarray(im)[~hole], before[~hole])


def test_restore_writes_a_record_of_each_output(tmp_path):
    import json

    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (H, W, 3), dtype=np.uint8)).save(tmp_path / "scan.png")
    hole = np.zeros((H, W), np.uint8)
    hole[10:20, 30:40] = 255
    Image.fromarray(hole).save(tmp_path / "damage.png")
    result = CliRunner().invoke(restore_command, [str(tmp_path / "scan.png"), "--mask", str(tmp_path / "damage.png"),
                                                  "--out", str(tmp_path / "r.png"), *TINY_CLI])
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "r.png.json").read_text())
    assert record["model"]["name"] == "trained on the input" and len(record["model"]["weights_sha256"]) == 64
    assert record["hole"]["box"] == {"top": 10, "left": 30, "height": 10, "width": 10}
    assert record["sampler"]["sampler"] == "dpmpp-2m-sde" and record["sampler"]["steps"] == 3


def test_a_folder_of_masks_restores_each_image_on_its_own(tmp_path):
    import json

    images, masks, out = tmp_path / "scans", tmp_path / "damage", tmp_path / "restored"
    images.mkdir(), masks.mkdir()
    holes = {}
    for i in range(4):
        hole = np.zeros((H, W), bool)
        hole[5 + 5 * i : 15 + 5 * i, 10:30] = True
        holes[f"scan{i}"] = hole
        damaged_file(images / f"scan{i}.png", "RGB", hole, seed=i)
        if i != 2:  # scan2's mask is missing
            save_mask(masks / f"scan{i}.png", hole)
    save_mask(masks / "stray.png", holes["scan0"])
    result = CliRunner().invoke(
        restore_command, [str(images), "--mask", str(masks), "--out", str(out), *TINY_CLI])
    assert result.exit_code == 1, result.output
    assert "no mask for scan2.png" in result.stderr and "stray.png matches no image" in result.stderr
    assert "restored 3 of 4 images" in result.output and "1 of 4 images failed: scan2.png" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"scan{i}.png{s}" for i in (0, 1, 3) for s in ("", ".json")]
    for i in (0, 1, 3):
        with Image.open(out / f"scan{i}.png") as im, Image.open(images / f"scan{i}.png") as src:
            hole = holes[f"scan{i}"]
            np.testing.assert_array_equal(np.asarray(im)[~hole], np.asarray(src)[~hole])  # its own mask
        record = json.loads((out / f"scan{i}.png.json").read_text())
        assert record["mask"]["path"].endswith(f"scan{i}.png") and record["hole"]["box"]["top"] == 5 + 5 * i


def test_a_folder_of_masks_needs_one_output_folder(tmp_path):
    hole = hole_map()
    src, _ = damaged_file(tmp_path / "a.png", "RGB", hole)
    (tmp_path / "masks").mkdir()
    save_mask(tmp_path / "masks" / "a.png", hole)
    result = run(src, "--mask", tmp_path / "masks", "--out", tmp_path / "o1", "--out", tmp_path / "o2", *TINY_CLI)
    assert result.exit_code == 2 and "one --out: the output folder" in result.output
    result = run(src, "--mask", tmp_path / "masks", "--out", tmp_path / "o", "--save-checkpoint", tmp_path / "m.pt",
                 *TINY_CLI)
    assert result.exit_code == 2 and "trains its own model" in result.output


def test_a_folder_of_masks_with_a_wrong_model_option_stops_once_before_any_image(tmp_path):
    images, masks = tmp_path / "scans", tmp_path / "damage"
    images.mkdir(), masks.mkdir()
    for i in range(3):
        damaged_file(images / f"scan{i}.png", "RGB", hole_map())
        save_mask(masks / f"scan{i}.png", hole_map())
    result = run(images, "--mask", masks, "--out", tmp_path / "out", "--checkpoint", "cork/diffusion",
                 "--init", "prior")
    assert result.exit_code == 2 and result.output.count("nothing to start from") == 1, result.output
    assert "failed" not in result.output and not (tmp_path / "out").exists()
