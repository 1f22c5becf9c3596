"""The pieces of experiments/ that the studies' numbers rest on: staged training, call counts, budgets."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments"))

import studylib as S  # noqa: E402
import study_budget  # noqa: E402
from inpaint.checkpoint import load_checkpoint  # noqa: E402
from inpaint.config import TrainConfig  # noqa: E402
from inpaint.diffusion import DiffusionConfig  # noqa: E402
from inpaint.sampling import sample_repaint, sampling_plan, strided_timesteps  # noqa: E402
from inpaint.schedule import NoiseSchedule  # noqa: E402
from inpaint.unet import ModelConfig  # noqa: E402


@pytest.mark.parametrize("steps, jump_length, jump_n_sample", [(10, 1, 1), (10, 2, 3), (12, 5, 4), (50, 10, 10)])
def test_repaint_calls_counts_the_denoiser_calls_of_repaint(steps, jump_length, jump_n_sample):
    calls = []

    def denoiser(x, t):
        calls.append(int(t[0]))
        return torch.zeros_like(x)

    T = 100
    x = torch.zeros(1, 1, 4, 4)
    known = torch.zeros(1, 1, 4, 4, dtype=torch.bool)
    known[..., :2] = True
    sample_repaint(denoiser, x, NoiseSchedule.linear(T), known=known, x_known=x,
                   timesteps=strided_timesteps(T, steps), jump_length=jump_length, jump_n_sample=jump_n_sample,
                   generator=torch.Generator().manual_seed(0))
    assert len(calls) == sampling_plan("repaint", range(steps - 1, -1, -1), jump_length=jump_length, jump_n_sample=jump_n_sample).calls


def test_run_stages_end_at_the_config_steps_and_name_their_files(tmp_path):
    config = S.config(steps=30)
    single, staged = S.Run("a", config), S.Run("b", config, (20, 10, 20))
    assert single.stages == (30,) and single.path(tmp_path, 30) == tmp_path / "a.pt"
    assert staged.stages == (10, 20, 30) and staged.path(tmp_path, 20) == tmp_path / "b-20.pt"


def test_staged_training_equals_one_run(tmp_path):
    """Scoring along the way must not change the model: stages resume exactly (weights, Adam, generator)."""
    image = torch.rand(1, 1, 48, 48) * 2 - 1
    texture = tmp_path / "t.png"
    from inpaint.io import write_image

    write_image(image, texture)
    config = TrainConfig(model=ModelConfig("diffusion", 1, width=8), diffusion=DiffusionConfig(timesteps=20),
                         crop=16, batch=2, steps=4, train_masks="box")
    S.train_run(str(texture), S.Run("staged", config, (1, 3)), tmp_path, "cpu", bar=False)
    S.train_run(str(texture), S.Run("whole", config), tmp_path, "cpu", bar=False)
    staged, whole = load_checkpoint(tmp_path / "staged-4.pt"), load_checkpoint(tmp_path / "whole.pt")
    assert load_checkpoint(tmp_path / "staged-1.pt").step == 1
    assert staged.step == whole.step == 4
    for name, w in whole.ema.items():
        torch.testing.assert_close(staged.ema[name], w, rtol=0, atol=0, msg=name)
    torch.testing.assert_close(staged.losses, whole.losses, rtol=0, atol=0)


def test_budget_stages_are_minutes_times_the_measured_rate():
    runs = study_budget.runs([5, 10])
    for run in runs:
        rate = study_budget.steps_per_second(run.config.method, run.config.batch)
        assert run.stages == (round(300 * rate), round(600 * rate))
        assert run.config.steps == run.stages[-1]
    assert [r.config.method for r in runs] == ["regression", "diffusion", "diffusion"]
    assert runs[1].stages == runs[2].stages  # both schedules get the same budget
    assert (runs[2].config.diffusion.schedule, runs[2].config.diffusion.timesteps) == ("cosine", 400)


def test_study_config_is_the_shipped_recipe_with_changes():
    c = S.config(steps=7, schedule="cosine", timesteps=50)
    assert (c.steps, c.crop, c.batch, c.seed) == (7, 64, 16, 0)
    assert c.diffusion == DiffusionConfig(schedule="cosine", timesteps=50, prediction="eps")
    # the studies vary the shipped recipe, whatever the library's defaults
    assert S.config(steps=7).diffusion == DiffusionConfig(schedule="linear", timesteps=1000, prediction="eps")


def timeless_csv(path):
    """A study's results.csv without its timing columns."""
    import csv

    with open(path, newline="") as f:
        table = list(csv.reader(f))
    keep = [i for i, name in enumerate(table[0]) if not name.startswith("seconds_per_fill")]
    return [[row[i] for i in keep] for row in table]


def test_a_study_in_three_shards_merges_into_the_single_run(tmp_path, monkeypatch):
    import study_steps

    def run(results, *args):
        monkeypatch.setattr(S, "RESULTS", results)
        monkeypatch.setattr(sys, "argv", ["study_steps.py", "--steps", "4,2", "--crops", "2", *args])
        try:
            study_steps.main()
        except SystemExit as exc:  # a shard's part ends the script
            assert exc.code in (0, None), exc.code

    run(tmp_path / "whole")
    for i in (2, 3, 1):
        run(tmp_path / "sharded", "--shard", f"{i}/3")
    parts = tmp_path / "sharded" / "steps" / "parts"
    assert sorted(p.name for p in parts.glob("*.json")) == [f"shard-{i}-of-3.json" for i in (1, 2, 3)]
    assert not (tmp_path / "sharded" / "steps" / "results.csv").exists()
    run(tmp_path / "sharded", "--merge")
    whole, merged = tmp_path / "whole" / "steps", tmp_path / "sharded" / "steps"
    assert timeless_csv(merged / "results.csv") == timeless_csv(whole / "results.csv")
    assert len(timeless_csv(whole / "results.csv")) == 1 + 4  # ddpm and ddim at 4 and 2 steps
    for name in ("grid.png", "metrics.png"):
        assert (merged / name).read_bytes() == (whole / name).read_bytes(), name
    assert "--shard 1/3" in (merged / "results.md").read_text()


def test_a_merge_of_an_incomplete_study_names_the_missing_shard(tmp_path, monkeypatch):
    import study_steps

    monkeypatch.setattr(S, "RESULTS", tmp_path)
    for args in (["--shard", "1/2"], ["--merge"]):
        monkeypatch.setattr(sys, "argv", ["study_steps.py", "--steps", "2", "--crops", "1", *args])
        with pytest.raises(SystemExit) as exc:
            study_steps.main()
    assert "lacks shard 2/2 of 2: run --shard 2/2" in str(exc.value.code)


def test_a_shard_trains_only_its_runs_and_a_merge_none(monkeypatch):
    trained = []
    monkeypatch.setattr(S, "train_runs", lambda texture, runs, folder, **kw: trained.append([r.name for r in runs]))
    monkeypatch.setattr(S, "Scorer", lambda crops: None)
    runs = [S.Run(f"r{i}", S.config(steps=1)) for i in range(5)]
    parser = S.arguments("doc", trains=True)
    for argv in (["--shard", "2/2"], ["--merge"], []):
        S.train_then_score(parser.parse_args(argv), "x", runs)
    assert trained == [["r2", "r3", "r4"], ["r0", "r1", "r2", "r3", "r4"]]


def test_a_bad_shard_is_refused(capsys):
    with pytest.raises(SystemExit):
        S.arguments("doc").parse_args(["--shard", "3/2"])
    assert "out of range" in capsys.readouterr().err


def test_two_workers_needing_one_run_train_it_once(tmp_path, monkeypatch):
    import threading
    import time

    from inpaint.io import write_image

    write_image(torch.rand(1, 1, 48, 48) * 2 - 1, tmp_path / "t.png")
    config = TrainConfig(model=ModelConfig("regression", 1, width=8), crop=16, batch=2, steps=2)
    calls, real_train = [], S.train

    def slow_train(*args, **kwargs):
        calls.append(1)
        time.sleep(0.5)  # the other worker arrives meanwhile
        return real_train(*args, **kwargs)

    monkeypatch.setattr(S, "train", slow_train)
    barrier = threading.Barrier(2)

    def worker():
        barrier.wait()
        S.train_run(str(tmp_path / "t.png"), S.Run("r", config), tmp_path / "runs", "cpu", bar=False)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and load_checkpoint(tmp_path / "runs" / "r.pt").step == 2


def test_the_slurm_script_submits_an_array_and_a_merge_after_it(tmp_path):
    """With a stand-in sbatch: N tasks, one shard each, and a merge that waits for the array job."""
    import os
    import subprocess

    root = Path(__file__).resolve().parent.parent
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "sbatch"
    fake.parent.mkdir()
    fake.write_text(f'#!/usr/bin/env bash\nprintf "%s\\n" "$*" >> {calls}\n'
                    f'for a in "$@"; do case $a in --wrap=*) printf "%s\\n" "${{a#--wrap=}}" >> {calls}.wrap;; esac; done\n'
                    'echo "4242;cluster"\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}", "LOGS": str(tmp_path / "logs"),
           "PYTHON": "py"}
    done = subprocess.run(["bash", "experiments/slurm_study.sh", "schedules", "3", "--device", "cuda"], cwd=root,
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    array, merge = calls.read_text().splitlines()
    assert "--array=1-3" in array and "py experiments/study_schedules.py --shard $SLURM_ARRAY_TASK_ID/3 --device cuda" \
        in array
    assert "--dependency=afterok:4242 " in merge and merge.endswith("py experiments/study_schedules.py --merge --device cuda")
    wrapped = (tmp_path / "calls.wrap").read_text().splitlines()[0]  # what a task runs, its task id filled in
    assert subprocess.run(["sh", "-c", f"echo {wrapped}"], env={**env, "SLURM_ARRAY_TASK_ID": "2"}, capture_output=True,
                          text=True).stdout.split() == ["py", "experiments/study_schedules.py", "--shard", "2/3",
                                                        "--device", "cuda"]
    bad = subprocess.run(["bash", "experiments/slurm_study.sh", "nope", "3"], cwd=root, env=env, capture_output=True,
                         text=True)
    assert bad.returncode == 2 and "schedules" in bad.stderr


def test_panels_figure_draws_one_panel_per_metric_and_one_series_per_label():
    panels = {"lpips": {"ddpm": [(10, 0.3, 0.01), (100, 0.2, 0.02)], "ddim": [(10, 0.35, 0.01), (100, 0.25, 0.01)]},
              "psnr": {"ddpm": [(10, 20.0, 0.1), (100, 21.0, 0.1)]}}
    fig = S.panels_figure(panels, xlabel="steps", title="samplers", logx=True)
    assert fig._suptitle.get_text() == "samplers"
    lpips_ax, psnr_ax = fig.axes
    assert lpips_ax.get_ylabel() == S.HEADERS["lpips"] and psnr_ax.get_ylabel() == S.HEADERS["psnr"]
    assert lpips_ax.get_xlabel() == "steps" and lpips_ax.get_xscale() == "log"
    assert [t.get_text() for t in lpips_ax.get_legend().get_texts()] == ["ddpm", "ddim"]
    ddpm = lpips_ax.lines[0]
    assert list(ddpm.get_xdata()) == [10, 100] and list(ddpm.get_ydata()) == [0.3, 0.2]
    assert list(psnr_ax.lines[0].get_ydata()) == [20.0, 21.0]


def test_guidance_benchmark_counts_the_network_calls_of_each_sampler():
    import guidance_pc_benchmark as G
    from dataclasses import replace

    from inpaint.fill import DEFAULT_SAMPLER, SamplerConfig, fill
    from inpaint.unet import UNet

    config = TrainConfig(model=ModelConfig("diffusion", 1, width=8), diffusion=DiffusionConfig(timesteps=50),
                         cond_dropout=0.1)
    model = UNet(config.model, generator=torch.Generator().manual_seed(0)).eval()
    count = []
    model.head.register_forward_hook(lambda *_: count.append(1))
    x = torch.zeros(1, 1, 16, 16)
    known = torch.ones(1, 1, 16, 16, dtype=torch.bool)
    known[..., 4:12, 4:12] = False
    for sampler in (replace(DEFAULT_SAMPLER, steps=5), replace(DEFAULT_SAMPLER, sampler="pc", steps=5),
                    replace(DEFAULT_SAMPLER, steps=5, guidance=1.0), SamplerConfig("repaint", 8, jump_length=2,
                                                                                   jump_n_sample=3)):
        count.clear()
        fill(model, config, x, known, sampler=sampler, generator=torch.Generator().manual_seed(1))
        assert len(count) == G.calls(config, sampler), sampler


def test_fewstep_summary_puts_the_default_first_with_paired_errors():
    import fewstep_benchmark as F

    rows = [{"texture": t, "sampler": "ddpm strided (reference)", "steps": 400, "lpips": 0.05, "sharpness": 0.9}
            for t in ("a", "b")]
    rows += [{"texture": t, "sampler": name, "steps": 25, "lpips": 0.05, "sharpness": 1.0, "d_lpips_mean": d,
              "d_lpips_se": 0.001} for t, d in (("a", 0.002), ("b", -0.004))
             for name in ("ddpm karras", "dpmpp-2m-sde karras (default)")]
    lines = F.summary_table(rows).splitlines()
    assert lines[0] == "| sampler | steps | a | b |"
    assert lines[2] == "| ddpm strided, all T (reference): LPIPS / sharpness | T | 0.050 / 0.90 | 0.050 / 0.90 |"
    assert lines[3] == "| dpmpp-2m-sde karras (default) | 25 | +0.002 ± 0.001 / 1.00 | -0.004 ± 0.001 / 1.00 |"
    assert lines[4].startswith("| ddpm karras | 25 |") and len(lines) == 5
