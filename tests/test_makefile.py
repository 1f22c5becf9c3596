"""The Makefile respects the user's machine: no package index named, and `make clean` keeps every output."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_no_package_index_address_in_the_makefile():
    text = (ROOT / "Makefile").read_text()
    assert not re.search(r"https?://|--index-url|--extra-index-url|-i\s", text)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_clean_removes_only_what_the_build_made(tmp_path):
    for name in ("Makefile", "pyproject.toml", "constraints.txt"):
        shutil.copy(ROOT / name, tmp_path / name)
    for folder in ("runs/cork", "out/demo", ".venv/bin", "build/lib", "inpaint/__pycache__", "tests", "experiments"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / "runs/cork/diffusion.pt").write_bytes(b"a user's model")
    (tmp_path / "out/demo/grid.png").write_bytes(b"a result")
    subprocess.run(["make", "clean"], cwd=tmp_path, check=True, capture_output=True)
    assert (tmp_path / "runs/cork/diffusion.pt").is_file() and (tmp_path / "out/demo/grid.png").is_file()
    assert not (tmp_path / ".venv").exists() and not (tmp_path / "build").exists()
    assert not (tmp_path / "inpaint/__pycache__").exists()
