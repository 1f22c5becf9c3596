"""The comparison runner: find or train the learned models, run every (texture, method) unit, write the report.

Learned methods come from given checkpoints or are trained once and cached
under a key that hashes the texture's pixels and the training config, so a
second run reuses them; a file lock lets one process train a model while
the others that need it wait and then read it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from filelock import FileLock, Timeout
from torch import Tensor

from ..baselines import patchmatch_module
from ..checkpoint import Checkpoint, load_checkpoint
from ..config import TrainConfig
from ..evaluate import (METHODS, Bars, classical_filler, crop_seeds, eval_set, learned_filler, no_bars, score_filler,
                       summarize)
from ..fill import SamplerConfig
from ..io import read_image
from ..mask_sets import load_mask_set
from ..perceptual import load_lpips
from ..shards import Shard, read_parts, unit_seed, write_part
from ..shipped import resolve_texture
from ..train import texture_meta, train
from ..unet import LEARNED_METHODS
from .parts import FIRST, LAST, from_parts, to_part
from .report import GRID_ROWS, package_versions, write_report

__all__ = [
    "MIN_CROP", "CompareConfig", "parse_methods", "DEFAULT_CACHE", "cache_folder", "cache_key", "train_config",
    "find_checkpoint", "learned_checkpoint", "compare_texture", "run_compare", "merge_compare", "PARTS",
]

MIN_CROP = 32
"""Smallest crop LPIPS accepts: its AlexNet pools the image 5 times."""
DEFAULT_CACHE = "~/.cache/inpaint/checkpoints"
"""The checkpoint cache when a config names none (the command line also reads ``$INPAINT_CACHE``)."""

PARTS = "parts"
"""Subfolder of ``out`` where the shards of a run leave their parts."""

@dataclass(frozen=True)
class CompareConfig:
    """Everything that defines a comparison run; written to ``run.json``.

    Parameters
    ----------
    methods : tuple of str
        Names from ``METHODS``.
    masks : str
        Folder of a fixed mask set, or the name of a shipped one (``thick-64``);
        its size is the crop size (>= ``MIN_CROP``).
    crops : int or None
        Cap on the held-out crops per texture (None: all that fit).
    samples : int
        Fills per crop for the stochastic methods (``STOCHASTIC``); 1 for the others.
    seed : int
        Seed of the sampling noise and of PatchMatch's search, mixed with each
        unit's identity (:func:`crop_seeds`). Training uses the seed of ``train``.
    held_out : float
        Width fraction of the right strip the crops come from; a checkpoint must
        have been trained with at least this much held out.
    checkpoints : str or None
        Folder with ``<method>.pt`` or ``<texture stem>/<method>.pt``; None trains
        and caches the learned methods.
    train : TrainConfig
        Template of the training runs: method, image channels and ``held_out``
        are set per run; ``steps`` is the training length.
    cache : str or None
        Checkpoint cache folder; default ``DEFAULT_CACHE``.
    diffusion : SamplerConfig
        Sampling of the conditional model. Default: ancestral DDPM over all
        T steps of the model (400 for the shipped ones), the sampler of the
        reference (Cherel et al. 2024), so that a comparison reproduces the
        reference's protocol; pass ``steps`` for a strided, faster run.  It
        differs from ``fill``'s default (:data:`inpaint.fill.DEFAULT_SAMPLER`,
        25 network calls) on purpose: the few-step benchmark measures that
        default against this chain (experiments/README.md, section 7).
    repaint : SamplerConfig
        Sampling of the unconditional model. Default: the quick walk
        (:data:`inpaint.fill.QUICK_REPAINT_SAMPLER`, 280 network evaluations),
        so that it runs on a CPU in minutes; the paper's setting
        (:data:`inpaint.fill.REPAINT_SAMPLER`) needs 2410.
    batch : int
        Crops per call of a learned model; each crop's noise is its own, so
        the batch changes only the speed (and floating-point rounding).
    device : str
        Where the learned models train and sample; the classical fills run on the CPU.
    """

    methods: tuple[str, ...] = METHODS
    masks: str = "thick-64"
    crops: int | None = None
    samples: int = 2
    seed: int = 0
    held_out: float = 0.25
    checkpoints: str | None = None
    train: TrainConfig = field(default_factory=TrainConfig)
    cache: str | None = None
    diffusion: SamplerConfig = SamplerConfig(sampler="ddpm")
    repaint: SamplerConfig = SamplerConfig.default_for("repaint", quick=True)
    batch: int = 16
    device: str = "cpu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "methods", tuple(parse_methods(self.methods)))
        if self.crops is not None and self.crops < 1:
            raise ValueError(f"crops must be >= 1, got {self.crops}")
        if self.samples < 1 or self.batch < 1:
            raise ValueError(f"samples and batch must be >= 1, got {self.samples} and {self.batch}")
        if not 0 < self.held_out < 1:
            raise ValueError(f"held_out must be in (0, 1), got {self.held_out}")
        if self.diffusion.sampler == "repaint":
            raise ValueError("the diffusion method samples with ddpm or ddim; repaint has its own settings")


def parse_methods(value: str | tuple | list, *, allowed: tuple[str, ...] = METHODS) -> list[str]:
    """``"telea,ns"`` or a sequence of names -> checked list; ``"all"`` = every name in ``allowed``."""
    names = list(allowed) if value == "all" else value.split(",") if isinstance(value, str) else list(value)
    names = [n.strip() for n in names if n.strip()]
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise ValueError(f"unknown method {', '.join(bad) or repr(value)}; choose from {', '.join(allowed)} or all")
    return list(dict.fromkeys(names))


def cache_folder(cache: str | os.PathLike | None = None) -> Path:
    """``cache``, else ``DEFAULT_CACHE``, with ``~`` expanded."""
    return Path(cache or DEFAULT_CACHE).expanduser()


def cache_key(texture_sha256: str, config: TrainConfig) -> str:
    """sha256 of the texture's pixel hash and the training config: equal key, equal training."""
    text = json.dumps({"texture": texture_sha256, "config": config.to_dict()}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def train_config(template: TrainConfig, method: str, channels: int, held_out: float) -> TrainConfig:
    """The template with the method, the image channels and the held-out fraction set."""
    return replace(template, model=replace(template.model, method=method, image_channels=channels), held_out=held_out)


def find_checkpoint(folder: str | os.PathLike, texture: str, method: str) -> Path | None:
    """``folder/<texture stem>/<method>`` with ``.pt`` (what training writes) or ``.safetensors`` (how models are
    shipped), else ``folder/<method>`` with either, else None."""
    candidates = [base / f"{method}{suffix}" for base in (Path(folder) / Path(texture).stem, Path(folder))
                  for suffix in (".pt", ".safetensors")]
    return next((path for path in candidates if path.is_file()), None)


def _check_checkpoint(ckpt: Checkpoint, path: Path, method: str, meta: dict, held_out: float) -> None:
    c = ckpt.config
    if c.method != method:
        raise ValueError(f"{path} holds a {c.method} model, not {method}")
    if c.model.image_channels != meta["channels"]:
        raise ValueError(f"{path} was trained on {c.model.image_channels}-channel images but {meta['name']} "
                         f"has {meta['channels']} channels")
    sha = ckpt.texture.get("sha256")
    if sha and sha != meta["sha256"]:
        raise ValueError(f"{path} was trained on {ckpt.texture.get('name')}, not on {meta['name']} (pixels differ)")
    if c.held_out < held_out - 1e-9:
        raise ValueError(f"{path} held out only {c.held_out:g} of the width in training; evaluating on "
                         f"{held_out:g} would score crops it trained on")


def _train_cached(image: Tensor, config: TrainConfig, path: Path, name: str, device, echo,
                  bars: Bars = no_bars) -> tuple[Checkpoint, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    # One process trains; the others wait here, then find its checkpoint (written atomically) in the cache.
    lock = FileLock(f"{path}.lock")
    try:
        lock.acquire(timeout=0)
    except Timeout:
        echo(f"{config.method}: another process is training {path}; waiting for it")
        lock.acquire()
    try:
        return _train_locked(image, config, path, name, device, echo, bars)
    finally:
        lock.release()


def _train_locked(image: Tensor, config: TrainConfig, path: Path, name: str, device, echo,
                  bars: Bars) -> tuple[Checkpoint, str]:
    start = load_checkpoint(path) if path.is_file() else None
    if start is not None and start.step >= config.steps:
        echo(f"{config.method}: cached checkpoint {path}")
        return start, "cache"
    done = start.step if start else 0
    echo(f"{config.method}: {'resuming' if done else 'no cached checkpoint,'} training to step {config.steps} "
         "(--checkpoints DIR uses trained ones)")
    with bars(f"train {config.method}") as progress:
        on_step = None if progress is None else lambda step, loss: progress(step, config.steps, loss)
        ckpt = train(image, config, start=start, out=path, device=device, name=name, on_step=on_step)
    echo(f"{config.method}: trained {config.steps} steps, cached in {path}")
    return ckpt, "trained"


def learned_checkpoint(
    method: str, image: Tensor, meta: dict, config: CompareConfig, echo: Callable[[str], None] = print,
    bars: Bars | None = None,
) -> tuple[Checkpoint, dict]:
    """The checkpoint of ``method`` for this texture (given, cached or trained now) and where it came from."""
    path = find_checkpoint(config.checkpoints, meta["name"], method) if config.checkpoints is not None else None
    if path is not None:
        ckpt, source = load_checkpoint(path), "given"
    else:
        if config.checkpoints is not None:
            echo(f"no {method} checkpoint for {meta['name']} in {config.checkpoints}: training one")
        tc = train_config(config.train, method, image.shape[1], config.held_out)
        path = cache_folder(config.cache) / cache_key(meta["sha256"], tc) / f"{method}.pt"
        ckpt, source = _train_cached(image, tc, path, meta["name"], config.device, echo, bars or no_bars)
    _check_checkpoint(ckpt, path, method, meta, config.held_out)
    return ckpt, {"path": str(path), "step": ckpt.step, "source": source}


def compare_texture(texture: str, masks: Tensor, config: CompareConfig, *, net, echo=print,
                    methods: list[str] | None = None, bars: Bars | None = None) -> dict:
    """The methods of ``config`` (or ``methods``, some of them) on the held-out crops of one texture.

    Crop ``i``'s fills by a stochastic method draw their noise from
    :func:`crop_seeds`; PatchMatch searches from ``unit_seed(seed, texture,
    "patchmatch")``. A method's numbers therefore do not depend on the other
    methods run, on their order or on the batch size.

    Returns
    -------
    dict with ``rows`` (:func:`inpaint.evaluate.result_rows` of every method), ``grid`` (name ->
    the first ``GRID_ROWS`` crops: masked input, each method's first sample,
    truth), ``known`` (their masks), ``meta`` (the texture's identity) and
    ``checkpoints`` (method -> where its checkpoint came from).
    """
    image, _ = read_image(texture)
    name = Path(texture).name
    if image.shape[1] not in (1, 3):
        raise ValueError(f"{texture} has {image.shape[1]} channels; compare needs grey or RGB images")
    meta = {**texture_meta(image, name), "channels": image.shape[1], "path": str(texture)}
    data, ids = eval_set(image, masks, crops=config.crops, held_out=config.held_out)
    echo(f"{name}: {len(data.truth)} held-out {masks.shape[-1]}x{masks.shape[-1]} crops, holes from {config.masks}")
    rows, used, grid = [], {}, {FIRST: data.masked[:GRID_ROWS]}
    for method in config.methods if methods is None else methods:
        if method in LEARNED_METHODS:
            ckpt, used[method] = learned_checkpoint(method, image, meta, config, echo, bars)
            sampler = config.repaint if method == "repaint" else config.diffusion
            filler = learned_filler(ckpt, sampler, config.samples, config.seed, config.device, bars=bars)
        else:
            filler = classical_filler(method, unit_seed(config.seed, name, method))
        seeds = crop_seeds(config.seed, name, method, len(data.truth))
        method_rows, outputs = score_filler(name, method, filler, data, ids, net=net, batch=config.batch, seeds=seeds)
        rows += method_rows
        grid[method] = outputs[0, :GRID_ROWS]
    grid[LAST] = data.truth[:GRID_ROWS]
    return {"rows": rows, "grid": grid, "known": data.known[:GRID_ROWS], "meta": meta, "checkpoints": used}


def _hashed(config: CompareConfig, textures: list[str]) -> dict:
    """What the numbers of a run depend on: the config but its cache folder, and the textures' names."""
    return {"config": {k: v for k, v in asdict(config).items() if k != "cache"},
            "textures": [Path(t).name for t in textures]}


def run_compare(textures: list[str], config: CompareConfig, *, out: str | os.PathLike, argv: list[str] | None = None,
                echo: Callable[[str], None] = print, shard: Shard | None = None,
                bars: Bars | None = None) -> list[dict]:
    """Run the protocol on ``textures`` and write the report into ``out``.

    A texture is a file, or the name of a shipped one (``cork``).

    Writes ``results.csv`` (:data:`inpaint.evaluate.COLUMNS`), ``summary.md``, ``grid.png`` (masked
    input, each method's first sample, truth; up to ``GRID_ROWS`` crops in
    all), ``plane.png`` and ``run.json`` (``argv``, the command line that
    asked for the run, config, package versions, mask set, checkpoints).
    ``bars(desc)`` gives a progress callback per training and fill
    (:mod:`inpaint.evaluate.fillers`); the library draws none itself. With a ``shard`` i/n of n > 1, runs only
    its block of the (texture, method) units and writes instead the part
    ``out/parts/shard-i-of-n.json`` (and ``.pt``), which :func:`merge_compare`
    turns into that report once every shard has run.

    Returns
    -------
    list of dict
        The summary rows per texture x method (:func:`inpaint.evaluate.summarize`) of the units run.
    """
    if not textures:
        raise ValueError("no texture given")
    textures = [str(resolve_texture(t)) for t in textures]
    masks, manifest = load_mask_set(config.masks)
    if masks.shape[-1] < MIN_CROP:
        size = masks.shape[-1]
        raise ValueError(f"{config.masks}: {size} px masks are too small; LPIPS needs crops of >= {MIN_CROP} px")
    if str(config.device).startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for but no GPU is available")
    if "patchmatch" in config.methods:
        patchmatch_module()  # a broken install fails now, saying how to repair it
    shard = shard or Shard()
    units = shard.take([(t, m) for t in textures for m in config.methods])
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    net = load_lpips("cpu")
    results = [compare_texture(t, masks, config, net=net, echo=echo, methods=[m for u, m in units if u == t], bars=bars)
               for t in dict.fromkeys(t for t, _ in units)]
    run = {"command": None if argv is None else list(argv), "config": asdict(config),
           "masks": {"path": str(config.masks), **{k: v for k, v in manifest.items() if k != "masks"}},
           "versions": package_versions(), "python": sys.version.split()[0]}
    if shard.whole:
        return write_report(results, run, out)
    record, tensors = to_part(results)
    path = write_part(out / PARTS, shard, _hashed(config, textures), [f"{Path(t).name}/{m}" for t, m in units],
                      {"run": run, **record}, tensors)
    echo(f"shard {shard}: {len(units)} of the {len(textures) * len(config.methods)} (texture, method) units, "
         f"written to {path}; once every shard has run: inpaint merge {out}")
    return summarize([r for result in results for r in result["rows"]])


def merge_compare(out: str | os.PathLike, argv: list[str] | None = None) -> list[dict]:
    """Write into ``out`` the report of a single run from the parts its shards left in ``out/parts``.

    ``results.csv``, ``summary.md``, ``grid.png`` and ``plane.png`` are those
    of a single run (seconds per fill apart); ``run.json`` also lists every
    shard's command, versions and checkpoints.

    Raises
    ------
    ValueError
        When the parts are not one complete run (:func:`inpaint.shards.read_parts`).
    """
    out = Path(out)
    parts = read_parts(out / PARTS)
    run = dict(parts[0]["run"])
    results = from_parts(parts, run["config"]["methods"])
    run["command"] = None if argv is None else list(argv)
    run["shards"] = [{"shard": str(p["shard"]), **{k: p["run"][k] for k in ("command", "versions", "python")}}
                     for p in parts]
    return write_report(results, run, out)
