"""Seamless tiles: the band across the wrap seams is re-synthesized, every other pixel kept, the seam fades."""

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from inpaint.checkpoint import load_checkpoint
from inpaint.cli import cli
from inpaint.io import read_image
from inpaint.shipped import checkpoint, texture
from inpaint.tile import make_tileable, seam_energy, seam_known


def cork_crop(size=96):
    x, _ = read_image(texture("cork"))
    return x[..., 40:40 + size, 200:200 + size].contiguous()


def test_only_the_band_changes_and_the_seam_becomes_like_the_rest():
    x = cork_crop()
    ckpt = load_checkpoint(checkpoint("cork/regression"))
    out = make_tileable(ckpt.network(), ckpt.config, x, band=8)
    H, W = x.shape[-2:]
    keep = torch.roll(seam_known(H, W, 8), (-(H // 2), -(W // 2)), dims=(-2, -1)).expand_as(x)
    assert torch.equal(out[keep], x[keep]) and not torch.equal(out, x)
    before, after = seam_energy(x), seam_energy(out)
    assert before > 1.5 and abs(after - 1) < abs(before - 1), (before, after)


def test_a_band_wider_than_the_image_is_refused():
    with pytest.raises(ValueError, match="band"):
        seam_known(16, 16, 16)


def test_tile_command_writes_the_tile_and_its_2x2_preview(tmp_path):
    Image.fromarray(((cork_crop(64)[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)).save(
        tmp_path / "t.png")
    result = CliRunner().invoke(cli, ["tile", str(tmp_path / "t.png"), "--checkpoint", "cork/regression", "--band", "8",
                                      "--out", str(tmp_path / "o.png"), "--preview", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    assert "seam energy" in result.output
    assert Image.open(tmp_path / "o.png").size == (64, 64) and Image.open(tmp_path / "p.png").size == (128, 128)


def test_extend_keeps_the_image_and_grows_it_cell_by_cell(tmp_path):
    from inpaint.extend import extend, extension_cells

    x = cork_crop(48)
    ckpt = load_checkpoint(checkpoint("cork/regression"))
    cells, calls = extension_cells(48, 48, 64, 80, cell=32), []
    out = extend(ckpt.network(), ckpt.config, x, 64, 80, cell=32, progress=lambda d, t: calls.append((d, t)))
    assert out.shape == (1, 3, 64, 80) and torch.equal(out[..., :48, :48], x)
    assert calls[-1] == (len(cells), len(cells)) and bool(torch.isfinite(out).all())
    grown = out.clone()
    grown[..., :48, :48] = 0
    assert (grown[..., 48:, :].abs().mean() > 0.05) and (grown[..., :, 48:].abs().mean() > 0.05)  # filled, not black
    with pytest.raises(ValueError, match="smaller"):
        extension_cells(48, 48, 40, 80)


def test_extend_command_refuses_a_smaller_size_and_writes_the_larger_texture(tmp_path):
    Image.fromarray(((cork_crop(48)[0].permute(1, 2, 0).numpy() + 1) * 127.5).round().astype(np.uint8)).save(
        tmp_path / "t.png")
    run = CliRunner().invoke
    result = run(cli, ["extend", str(tmp_path / "t.png"), "--size", "32x32", "--out", str(tmp_path / "o.png"),
                       "--checkpoint", "cork/regression"])
    assert result.exit_code != 0 and "smaller" in result.output
    result = run(cli, ["extend", str(tmp_path / "t.png"), "--size", "80x64", "--cell", "32", "--out",
                       str(tmp_path / "o.png"), "--checkpoint", "cork/regression"])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "o.png").size == (80, 64)


def test_extend_starts_every_cell_from_one_guide_of_the_whole_canvas(monkeypatch):
    import inpaint.extend as extend_module
    from inpaint.fill import SamplerConfig
    from inpaint.guide import known_mean

    x = cork_crop(48)
    ckpt = load_checkpoint(checkpoint("cork/diffusion"))
    made = []

    def guide(start, canvas, known):
        made.append((start, tuple(canvas.shape), int((~known).sum())))
        return known_mean(canvas, known)

    monkeypatch.setattr(extend_module, "make_guide", guide)
    out = extend_module.extend(ckpt.network(), ckpt.config, x, 64, 80, cell=32, generator=torch.Generator().manual_seed(0))
    assert made == [("patchmatch", (1, 3, 64, 80), 64 * 80 - 48 * 48)]  # once, over every new pixel
    assert torch.equal(out[..., :48, :48], x)
    # a guide given: at a low strength every cell keeps it nearly as it is
    given = torch.full((1, 3, 64, 80), 0.3)
    near = extend_module.extend(ckpt.network(), ckpt.config, x, 64, 80, cell=32, guide=given,
                                sampler=SamplerConfig(strength=0.05), generator=torch.Generator().manual_seed(0))
    assert len(made) == 1 and torch.equal(near[..., :48, :48], x)
    assert (near[..., 48:, :] - 0.3).abs().mean() < 0.1 and (near[..., :, 48:] - 0.3).abs().mean() < 0.1


def test_fill_windows_refuses_a_guide_of_another_size():
    from inpaint.windows import fill_windows

    x = cork_crop(48)
    ckpt = load_checkpoint(checkpoint("cork/diffusion"))
    known = torch.ones(1, 1, 48, 48, dtype=torch.bool)
    known[..., 10:20, 10:20] = False
    with pytest.raises(ValueError, match="guide"):
        fill_windows(ckpt.network(), ckpt.config, x, known, guide=torch.zeros(1, 3, 40, 48))
