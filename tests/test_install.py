"""inpaint works wherever it is installed: a wheel, a fresh venv, an empty folder.

The wheel is built from this checkout and installed with ``--no-deps`` into a
new venv in a temporary folder; the venv sees the test environment's
dependencies (torch and the rest) through a ``.pth`` file instead of
downloading them again. Every command then runs from an empty folder, so
nothing can be found relative to the checkout: the mask sets, the textures and
the checkpoints must come from the installed package.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "inpaint", "masks", "data")
pytestmark = pytest.mark.slow


def _run(args, cwd, env, timeout=600):
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of a fresh venv holding the wheel, environment for its commands, an empty folder)."""
    tmp = tmp_path_factory.mktemp("install")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(MPLBACKEND="Agg", TQDM_DISABLE="1", INPAINT_CACHE=str(tmp / "cache"), PIP_NO_INPUT="1",
               PIP_DISABLE_PIP_VERSION_CHECK="1")
    # Build from a copy of what the build reads, so that no stale build/ folder of the checkout can leak in.
    source = tmp / "source"
    source.mkdir()
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", tmp / "dist", source],
         tmp, env)
    (wheel,) = (tmp / "dist").glob("internal_inpaint-*.whl")
    venv.EnvBuilder(with_pip=True).create(tmp / "venv")
    python = tmp / "venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    purelib = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp, env).strip())
    deps = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    (purelib / "_test_dependencies.pth").write_text("\n".join(deps) + "\n")
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel], tmp, env)
    empty = tmp / "empty"
    empty.mkdir()
    return python, env, empty, wheel


def test_the_wheel_holds_the_shipped_data_and_nothing_else(installed):
    import zipfile

    names = zipfile.ZipFile(installed[3]).namelist()
    assert "inpaint/_masks/thick-64/manifest.json" in names and "inpaint/_masks/thick-64/0099.png" in names
    assert "inpaint/_data/cork.png" in names and "inpaint/_data/checkpoints/cork/diffusion.safetensors" in names
    models = {n.split("/")[3] for n in names if n.startswith("inpaint/_data/checkpoints/") and n.endswith(".safetensors")}
    assert all(f"inpaint/_data/checkpoints/{m}/diffusion.json" in names for m in models)
    assert models and all(f"inpaint/_data/checkpoints/{m}/MODEL_CARD.md" in names for m in models), models
    assert "inpaint/_weights/alexnet_features.npz" in names and "inpaint/_weights/LICENSE-torchvision" in names
    assert {"inpaint/_static/index.html", "inpaint/_static/app.js", "inpaint/_static/style.css"} <= set(names)
    assert not [n for n in names if "unseen" in n or n.startswith(("experiments/", "tests/", "data/", "masks/"))]


def test_commands_work_from_an_empty_folder(installed):
    python, env, empty, _ = installed
    where = _run([python, "-c", "import inpaint; print(inpaint.__file__)"], empty, env)
    assert Path(where.strip()).is_relative_to(python.parents[1]), where
    bin_dir = python.parent
    inpaint = [bin_dir / "inpaint"]

    assert "Usage" in _run([*inpaint, "--help"], empty, env)
    out = _run([*inpaint, "demo", "--crops", "1", "--steps", "5", "--out", "demo"], empty, env)
    assert "| cork.png | diffusion |" in out and (empty / "demo" / "grid.png").is_file()
    out = _run([*inpaint, "compare", "--method", "regression,diffusion,patchmatch", "--crops", "1", "--samples", "1",
                "--steps", "5", "--out", "cmp"], empty, env)
    assert "| cork.png | patchmatch |" in out
    _run([*inpaint, "masks", "make", "--family", "thick", "--size", "64", "--count", "2", "--out", "m"], empty, env)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(empty / "photo.png")
    _run([*inpaint, "fill", "photo.png", "--mask", "m/0000.png", "--checkpoint", "cork", "--steps", "5",
          "--out", "filled.png"], empty, env)
    assert Image.open(empty / "filled.png").size == (64, 64)
    assert "step: 4000" in _run([*inpaint, "info", "cork/regression"], empty, env)  # the shipped models of today
    assert sorted(p.name for p in empty.iterdir()) == ["cmp", "demo", "filled.png", "filled.png.json", "m", "photo.png"]


def test_pip_check_finds_nothing_missing_for_inpaint(installed):
    python, env, empty, _ = installed
    result = subprocess.run([str(python), "-m", "pip", "check"], cwd=empty, env=env, capture_output=True, text=True)
    complaints = [line for line in result.stdout.splitlines() if line.lower().startswith("internal-inpaint ")]
    assert not complaints, result.stdout


def test_the_library_example_runs_from_an_empty_folder(installed, tmp_path):
    python, env, _, _ = installed
    readme = (ROOT / "docs" / "library.md").read_text()
    code = re.search(r"# Library\n+```python\n(.*?)```", readme, re.S).group(1)
    assert "steps=5000" in code
    code = code.replace("steps=5000", "steps=2")  # the example as written, with a short training
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(tmp_path / "damaged.png")
    hole = np.zeros((48, 64), np.uint8)
    hole[10:20, 20:40] = 255
    Image.fromarray(hole).save(tmp_path / "hole.png")
    _run([python, "-c", code], tmp_path, env)
    assert Image.open(tmp_path / "filled.png").size == (64, 48)
