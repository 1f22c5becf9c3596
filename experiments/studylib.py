"""What the studies share: training a set of configs, scoring a checkpoint on held-out holes, writing results.

A study trains its models into ``runs/studies/<study>/`` (one ``<run>.pt`` per
run, or ``<run>-<step>.pt`` per stage when a run is scored along the way),
then fills the same held-out crops of a texture with each and writes a table,
a JSON file, figures and a grid of fills under ``experiments/results/<study>/``.
Training resumes from what is already there, so a study can be trained on one
machine (``--phase train --device cuda``) and scored on another
(``--phase eval``); a file lock per run lets only one process train it.

A study is a list of units of work (its runs, or its sampler settings).
``--shard i/n`` trains and scores only the i-th of n contiguous blocks of
them (:func:`share`) and writes its rows and grid crops as a part under
``results/<study>/parts/`` (:func:`gather`); ``--merge`` reads every part
and writes the tables and figures a single run writes. The loop of a study::

    for run in S.share(args, runs):      # this shard's units; none with --merge
        rows.append(score(run))
    rows = S.gather(args, NAME, rows, scorer, S.share(args, runs))  # a shard's part ends the script here
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

import torch
from filelock import FileLock
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from inpaint import report
from inpaint.checkpoint import Checkpoint, load_checkpoint
from inpaint.compare.report import package_versions
from inpaint.config import TrainConfig
from inpaint.evaluate import EvalSet, learned_filler, load_eval_set, score_filler, summarize
from inpaint.fill import SamplerConfig
from inpaint.io import read_image
from inpaint.perceptual import load_lpips
from inpaint.report import markdown_table, save_figure, save_grid, with_se, write_results
from inpaint.shards import Shard, read_parts, write_part
from inpaint.train import train
from inpaint.unet import ModelConfig


ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "experiments" / "results"
RUNS = ROOT / "runs" / "studies"
TEXTURE = ROOT / "data" / "cork.png"
MASKS = ROOT / "masks" / "thick-64"
GRID_CROPS = 4
HEADERS = {**report.HEADERS, "loss": "final loss", "jump_length": "jump length", "jump_n_sample": "jump n sample"}
"""The report's headers of the scores (:data:`inpaint.report.HEADERS`) and those of the studies' own columns."""
SHOWN_WITH_SE = ("psnr", "ssim", "lpips", "sharpness")
"""Columns whose cells read 'mean ± standard error' in the studies' tables."""


@dataclass(frozen=True)
class Run:
    """One training run of a study: its config and the steps at which it is scored (default: the end)."""

    name: str
    config: TrainConfig
    stages: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        stages = tuple(sorted(set(self.stages) | {self.config.steps}))
        object.__setattr__(self, "stages", stages)

    def path(self, folder: Path, step: int) -> Path:
        return folder / (f"{self.name}.pt" if len(self.stages) == 1 else f"{self.name}-{step}.pt")


REFERENCE_CHECKPOINTS = ROOT / "experiments" / "checkpoints" / "reference-recipe"
"""The models the first studies were measured with, of the recipe they vary (they shipped until the models of
today's defaults replaced them): ``<texture>/<method>.safetensors``."""

REFERENCE_RECIPE: TrainConfig = load_checkpoint(REFERENCE_CHECKPOINTS / "cork" / "diffusion.safetensors").config
"""The recipe of :data:`REFERENCE_CHECKPOINTS`, on which every study varies one thing at a time: eps prediction,
linear schedule with T = 1000, crop 64, batch 16, seed 0, a constant rate, all eight symmetries, float32, from
scratch.  Not the library's defaults, which the studies' results chose later."""


def config(method: str = "diffusion", *, steps: int, channels: int = 3, **diffusion) -> TrainConfig:
    """``REFERENCE_RECIPE`` for ``method`` on ``channels``-channel images, trained ``steps``, with ``diffusion``
    fields changed."""
    return replace(REFERENCE_RECIPE, model=ModelConfig(method, channels),
                   diffusion=replace(REFERENCE_RECIPE.diffusion, **diffusion), steps=steps)


def log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def train_run(texture: str, run: Run, folder: Path, device: str, threads: int | None = None, bar: bool = True) -> None:
    """Train ``run`` through its stages, each saved to :meth:`Run.path`; stages already on disk are skipped.

    Holds ``folder/<run>.lock`` meanwhile: another process that needs the run waits, then finds its stages on disk.
    """
    if threads:
        torch.set_num_threads(threads)
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(folder / f"{run.name}.lock"):
        _train_stages(texture, run, folder, device, bar)


def _train_stages(texture: str, run: Run, folder: Path, device: str, bar: bool) -> None:
    image, _ = read_image(texture)
    start: Checkpoint | None = None
    for step in run.stages:
        path = run.path(folder, step)
        if path.is_file():
            start = load_checkpoint(path)
            if start.step >= step:
                continue
        t0 = time.perf_counter()
        progress = tqdm(total=step, initial=start.step if start else 0, desc=run.name, unit="step", disable=not bar)

        def on_step(done: int, loss: float) -> None:
            progress.update(1)
            if not bar and done % 2000 == 0:
                log(f"{run.name}: step {done}/{step}, loss {loss:.4f}")

        start = train(image, run.config, start=start, out=path, device=device, until=step,
                      save_every=min(step, 1000), on_step=on_step, name=Path(texture).name)
        progress.close()
        log(f"{run.name}: step {step} saved to {path} ({time.perf_counter() - t0:.0f} s)")


def train_runs(texture: str, runs: list[Run], folder: Path, *, device: str = "cpu", jobs: int = 1) -> None:
    """Train every run; ``jobs`` > 1 trains that many at once in separate processes (one thread each)."""
    folder.mkdir(parents=True, exist_ok=True)
    if jobs <= 1:
        for run in runs:
            train_run(texture, run, folder, device)
        return
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        futures = {pool.submit(train_run, texture, run, folder, device, 1, False): run.name for run in runs}
        for future in as_completed(futures):
            future.result()
            log(f"{futures[future]} done")


def train_then_score(args: argparse.Namespace, name: str, runs: list[Run]) -> tuple[Path, "Scorer"]:
    """Train this shard's ``runs`` (:func:`share`) into ``RUNS/name`` unless ``--phase eval`` or ``--merge``, and
    end the script after ``--phase train``; then the runs' folder and a :class:`Scorer` of ``--crops`` crops."""
    folder = RUNS / name
    if args.phase in ("all", "train") and not args.merge:
        train_runs(str(TEXTURE), share(args, runs), folder, device=args.device, jobs=args.jobs)
    if args.phase == "train":
        raise SystemExit(0)
    return folder, Scorer(crops=args.crops)


NOT_HASHED = ("shard", "merge", "phase", "device", "jobs")
"""Options that change where and how a study runs, not its numbers: shards may differ in them."""


def share(args: argparse.Namespace, units: list) -> list:
    """The units of ``--shard i/n`` (all of them without it); none with ``--merge``."""
    return [] if args.merge else args.shard.take(units)


def gather(args: argparse.Namespace, name: str, rows: list[dict], scorer: "Scorer", units: list) -> list[dict]:
    """The rows of the whole study.

    Without ``--shard`` or ``--merge``: ``rows``. With ``--shard i/n``: writes
    ``rows`` and the scorer's grid crops as the part ``RESULTS/name/parts/shard-i-of-n.json``
    (and ``.pt``) and ends the script. With ``--merge``: the rows of every
    part in shard order, the order of a single run, and their grid crops put
    in ``scorer``; the parts must be one complete set of one configuration
    (:func:`inpaint.shards.read_parts`).
    """
    parts_folder = RESULTS / name / "parts"
    if args.merge:
        try:
            parts = read_parts(parts_folder)
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
        for part in parts:
            scorer.fills.update(part["tensors"])
        return [row for part in parts for row in part["rows"]]
    if args.shard.whole:
        return rows
    config = {"study": name, "args": {k: v for k, v in vars(args).items() if k not in NOT_HASHED}}
    ids = [u.name if isinstance(u, Run) else "/".join(map(str, u)) if isinstance(u, tuple) else str(u) for u in units]
    path = write_part(parts_folder, args.shard, config, ids, {"rows": rows, "command": _command()}, scorer.fills)
    log(f"shard {args.shard}: {len(ids)} units written to {path}; once every shard has run, merge with --merge")
    raise SystemExit(0)


@dataclass
class Scorer:
    """Held-out crops of a texture with the holes of a fixed mask set, and the LPIPS network to score fills."""

    texture: Path = TEXTURE
    masks: Path = MASKS
    crops: int = 16
    seed: int = 0
    net: object = field(default=None, repr=False)

    def __post_init__(self) -> None:
        image, _ = read_image(self.texture)
        self.data, self.mask_ids, self.manifest = load_eval_set(image, self.masks, crops=self.crops)
        self.net = self.net or load_lpips("cpu")
        self.fills: dict[str, torch.Tensor] = {}

    def score(self, label: str, ckpt: Checkpoint, sampler: SamplerConfig = SamplerConfig(), *, samples: int = 1,
              device: str = "cpu") -> dict:
        """Mean and standard error over crops of every hole metric of ``ckpt``'s fills, and seconds per fill."""
        filler = learned_filler(ckpt, sampler, samples, self.seed, device)
        rows, outputs = score_filler(self.texture.name, label, filler, self.data, self.mask_ids, net=self.net,
                                     batch=self.crops)
        self.fills[label] = outputs[0, :GRID_CROPS]
        summary = summarize(rows)[0]
        summary.pop("texture")
        summary["label"] = summary.pop("method")
        return summary

    def grid(self, path: Path, labels: list[str] | None = None, title: str | None = None) -> None:
        """Masked input, the first fill of each scored label, and the truth, for the first crops."""
        data: EvalSet = self.data
        columns = {"masked input": data.masked[:GRID_CROPS]}
        columns.update({textwrap.fill(k, 18): self.fills[k] for k in labels or self.fills})  # long titles wrap
        columns["truth"] = data.truth[:GRID_CROPS]
        save_grid(columns, data.known[:GRID_CROPS], path, title=title)

    def describe(self) -> str:
        """The evaluation set in words, for a study's introduction."""
        size = self.data.truth.shape[-1]
        return (f"{len(self.data.truth)} held-out {size}x{size} "
                f"crops of {self.texture.relative_to(ROOT)} with the holes of masks/{self.masks.name}, "
                f"sampling seed {self.seed}")


def write_study(name: str, rows: list[dict], columns: list[str], *, intro: str, args: dict,
                formats: dict | None = None, extra: str = "") -> Path:
    """``results/<name>/results.md`` (intro, table, ``extra``, the command), ``results.csv`` (every field of
    every row) and ``results.json`` (rows, arguments, machine, package versions)."""
    folder = RESULTS / name
    folder.mkdir(parents=True, exist_ok=True)
    fmts = {HEADERS.get(k, k): f for k, f in {**report.FORMATS, **(formats or {})}.items()}
    shown = [{HEADERS.get(k, k): v for k, v in row.items()} for row in with_se(rows, SHOWN_WITH_SE)]
    table = markdown_table(shown, [HEADERS.get(c, c) for c in columns], fmts)
    command = _command()
    if args.get("merge") and (folder / "parts").is_dir():
        shards = dict.fromkeys(p["command"] for p in read_parts(folder / "parts"))
        command = "`, `".join([*shards, command])
    machine = f"{platform.machine()}, {torch.get_num_threads()} torch threads"
    extra = f"{extra.strip()}\n\n" if extra.strip() else ""
    (folder / "results.md").write_text(f"{intro}\n\n{table}\n\n{extra}Command: `{command}` ({machine}).\n")
    meta = {"args": args, "command": command, "machine": machine, "versions": package_versions()}
    (folder / "results.json").write_text(json.dumps({**meta, "rows": rows}, indent=2, default=str) + "\n")
    write_results(rows, folder / "results.csv", list(dict.fromkeys(k for row in rows for k in row)))
    return folder


def _command() -> str:
    script = Path(sys.argv[0])
    return "python " + " ".join([str(script.relative_to(ROOT)) if script.is_absolute() else sys.argv[0], *sys.argv[1:]])


def loss_tail(ckpt: Checkpoint, window: int = 500) -> float:
    """Mean training loss over the last ``window`` steps."""
    return ckpt.losses[-window:].double().mean().item()


def load(path: Path) -> Checkpoint:
    if not path.is_file():
        raise SystemExit(f"{path} is missing: train it first (--phase train, or no --phase)")
    return load_checkpoint(path)


def arguments(doc: str, *, trains: bool = False, steps: int | None = None) -> argparse.ArgumentParser:
    """The options of the studies: how many crops to score; for a study that ``trains``, what to run and where
    to train; ``steps``, the default of ``--steps`` for one whose runs all train as long."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(doc.splitlines()[1:]))
    if steps is not None:
        parser.add_argument("--steps", type=int, default=steps, help="optimizer steps of every run")
    if trains:
        parser.add_argument("--phase", choices=("all", "train", "eval"), default="all",
                            help="train the models, score them, or both (default)")
        parser.add_argument("--device", default="cpu", help="where to train; scoring runs on the CPU")
        parser.add_argument("--jobs", type=int, default=1, help="runs trained at once (one process each)")
    parser.add_argument("--crops", type=int, default=16, help="held-out crops to score")
    parser.add_argument("--shard", type=_shard, default=Shard(), metavar="I/N",
                        help="train and score only the I-th of N blocks of the study's runs and write its part "
                             "(a cluster's array task); --merge then writes the study from every part")
    parser.add_argument("--merge", action="store_true",
                        help="write the tables and figures from the parts of every --shard (run with the same options)")
    return parser


def _shard(text: str) -> Shard:
    try:
        return Shard.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def panels_figure(panels: dict[str, dict[str, list[tuple[float, float, float]]]], *, xlabel: str, title: str,
                  logx: bool = False, xticks: list | None = None, lines: bool = True) -> Figure:
    """One panel per metric (key: y label), one line per series of (x, mean, standard error) points.

    ``lines=False`` draws the points alone, for series whose x order means nothing."""
    fig = Figure(figsize=(4.2 * len(panels), 3.6), dpi=120)
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (ylabel, series) in zip(axes[0], panels.items()):
        for label, points in series.items():
            xs, ys, es = zip(*points)
            ax.errorbar(xs, ys, yerr=es, marker="o", ms=4, capsize=2, label=label, linestyle="-" if lines else "none")
        if logx:
            ax.set_xscale("log")
        if xticks:
            ax.set_xticks(xticks, [str(x) for x in xticks], rotation=45)
            ax.minorticks_off()
        ax.set_xlabel(xlabel)
        ax.set_ylabel(HEADERS.get(ylabel, ylabel))
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_panels(panels: dict[str, dict[str, list[tuple[float, float, float]]]], path: Path, **options) -> None:
    """:func:`panels_figure` saved to ``path``."""
    save_figure(panels_figure(panels, **options), path)
