"""Shipped mask sets, textures and models are found by name from any folder; a file of that name wins."""

import pytest
import torch

from inpaint import shipped
from inpaint.checkpoint import load_checkpoint
from inpaint.mask_sets import load_mask_set


def test_names_resolve_to_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # nothing relative to the checkout
    assert shipped.texture("cork").is_file() and shipped.texture("cork.png") == shipped.texture("cork")
    assert set(shipped.mask_set_names()) >= {"thick-64", "box-128"}
    known, manifest = load_mask_set("thick-64")
    assert known.shape[-2:] == (64, 64) and manifest["family"] == "thick"
    assert torch.equal(load_mask_set("masks/thick-64")[0], known)  # the repository path works anywhere
    for name, method in (("cork", "diffusion"), ("cork/regression", "regression"), ("gravel/repaint", "repaint"),
                         ("data/checkpoints/brick/regression.safetensors", "regression")):
        assert load_checkpoint(shipped.resolve_checkpoint(name)).config.method == method
    assert len(shipped.model_names()) == 16 and shipped.model_names()[-1] == "prior"


def test_an_existing_file_wins_over_a_shipped_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cork").write_bytes(b"mine")
    assert shipped.resolve_checkpoint("cork") == tmp_path.joinpath("cork").relative_to(tmp_path)
    (tmp_path / "thick-64").mkdir()
    assert shipped.resolve_mask_set("thick-64").resolve() == (tmp_path / "thick-64").resolve()
    (tmp_path / "cork.png").write_bytes(b"x")
    assert shipped.resolve_texture("cork.png").resolve() == (tmp_path / "cork.png").resolve()
    assert shipped.resolve_texture("elsewhere/cork.png").as_posix() == "elsewhere/cork.png"  # not a shipped name


def test_unknown_names_list_what_is_shipped():
    with pytest.raises(ValueError, match="cork/regression"):
        shipped.resolve_checkpoint("marble")
    with pytest.raises(ValueError, match="thick-64"):
        shipped.mask_set("blobs-64")
    with pytest.raises(ValueError, match="manifest.json.*thick-64"):
        load_mask_set("nowhere-64")


def test_every_shipped_model_folder_has_an_up_to_date_model_card():
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "experiments"))
    import model_cards

    folders = {p.parent for p in (root / "data" / "checkpoints").glob("*/*.safetensors")}
    cards = model_cards.cards()
    assert {p.parent for p in cards} == folders
    for path, text in cards.items():
        assert path.read_text() == text, f"{path} is stale: python experiments/model_cards.py"
        assert "## Licence" in text and "## Measured quality" in text and "## Intended use and limits" in text
