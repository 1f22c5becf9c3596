#!/usr/bin/env bash
# Run a study of experiments/ on a SLURM cluster: N array tasks, one shard each, then one merge job.
#
#   experiments/slurm_study.sh STUDY N [study options ...]
#
#   experiments/slurm_study.sh schedules 12                       # 36 runs, 3 per task, on CPUs
#   SLURM_OPTIONS="--gres=gpu:1 --time=4:00:00" \
#       experiments/slurm_study.sh schedules 6 --device cuda --jobs 6
#
# Run it from the repository root on a login node; the repository folder (with runs/studies/ and
# experiments/results/) must be shared by the nodes. It submits two jobs:
#   1. an array job of N tasks: task i runs `python experiments/study_STUDY.py --shard i/N OPTIONS`,
#      which trains and scores the i-th block of the study's runs and writes its part to
#      experiments/results/STUDY/parts/shard-i-of-N.json;
#   2. a merge job, `python experiments/study_STUDY.py --merge OPTIONS`, submitted with
#      --dependency=afterok:<array job id>: it starts once every task has ended well and writes
#      the study's tables and figures, the same as a single run's (seconds per fill apart).
# A failed task leaves the merge job pending (DependencyNeverSatisfied): resubmit that shard with
# `sbatch --array=i ...` or run it by hand, then run the merge yourself. Training resumes from
# the checkpoints already saved, and a file lock per run keeps two tasks from training one run.
#
# Environment:
#   PYTHON          the interpreter (default: .venv/bin/python, the venv of `make setup`)
#   SLURM_OPTIONS   extra sbatch options of every array task (partition, time, --gres=gpu:1, ...)
#   MERGE_OPTIONS   extra sbatch options of the merge job (it needs one CPU and a few minutes)
#   LOGS            folder of the jobs' output (default: runs/slurm)
#   DRY_RUN=1       print the sbatch commands instead of submitting them
#
# The same on a few machines that share the repository folder, with GNU parallel (3 shards):
#   parallel -S host1,host2,host3 --workdir "$PWD" .venv/bin/python experiments/study_schedules.py --shard {}/3 ::: 1 2 3 && .venv/bin/python experiments/study_schedules.py --merge
#
# `inpaint compare` splits the same way: `inpaint compare ... --out OUT --shard i/N` per task,
# then `inpaint merge OUT`.
set -euo pipefail

usage="usage: $0 STUDY N [study options ...]; STUDY is one of:$(
    for f in experiments/study_*.py; do f=${f#experiments/study_}; printf ' %s' "${f%.py}"; done)"
study=${1:?$usage}
n=${2:?$usage}
shift 2
script="experiments/study_${study}.py"
if [[ ! -f $script ]]; then
    echo "no $script (run from the repository root); $usage" >&2
    exit 2
fi
if [[ ! $n =~ ^[1-9][0-9]*$ ]]; then
    echo "N must be a positive number of shards, got '$n'" >&2
    exit 2
fi
python=${PYTHON:-.venv/bin/python}
logs=${LOGS:-runs/slurm}
options=""
if (($#)); then
    options=$(printf ' %q' "$@")
fi
submit() {
    if [[ ${DRY_RUN:-0} == 1 ]]; then
        { printf 'sbatch --parsable'; printf ' %q' "$@"; printf '\n'; } >&2
        echo "<job id>"
    else
        sbatch --parsable "$@"
    fi
}
mkdir -p "$logs"
# shellcheck disable=SC2086  # SLURM_OPTIONS holds several options
array=$(submit --job-name="$study" --array="1-$n" --output="$logs/$study-%a.out" ${SLURM_OPTIONS:-} \
    --wrap="$python $script --shard \$SLURM_ARRAY_TASK_ID/$n$options")
array=${array%%;*}  # --parsable prints "id" or "id;cluster"
# shellcheck disable=SC2086
merge=$(submit --job-name="$study-merge" --dependency="afterok:$array" --output="$logs/$study-merge.out" \
    ${MERGE_OPTIONS:-} --wrap="$python $script --merge$options")
echo "submitted $study: array job $array ($n tasks), merge job ${merge%%;*} after it; output in $logs/"
