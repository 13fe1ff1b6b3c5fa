#!/bin/bash
# submit.sh CONFIG TASKS [SBATCH ARGUMENTS...]
#
# Submits a grsu sweep to Slurm: an array of TASKS shards (sweep.sbatch, `grsu run --shard auto`)
# and the merge (merge.sbatch, `grsu merge` + `grsu report`) after all of them succeeded
# (--dependency=afterok). Prints the two job ids. Further arguments go to both sbatch calls
# (e.g. --partition=gpu --time=12:00:00); GRSU_SWEEP_SBATCH_ARGS and GRSU_MERGE_SBATCH_ARGS go
# to one of them only (e.g. GRSU_SWEEP_SBATCH_ARGS="--gpus-per-task=1").
#
# Paths, on a filesystem every node sees (exported to the jobs):
#   GRSU_OUTPUT  the sweep's output folder (default: the config's [run] output, read with
#                python3 when it is a plain path; shards go to $GRSU_OUTPUT/shards/)
#   GRSU_BIN     the grsu binary (default: grsu on PATH, made absolute here)
#   GRSU_WORKDIR the jobs' working folder (default: this folder); job logs go there
# and the variables of sweep.sbatch (GRSU_VLLM_SERVE, GRSU_RUN_ARGS, ...).

set -euo pipefail

if (($# < 2)); then
    echo "usage: $0 CONFIG TASKS [SBATCH ARGUMENTS...]" >&2
    exit 2
fi
config=$1
tasks=$2
shift 2
if ! [[ $tasks =~ ^[1-9][0-9]*$ ]]; then
    echo "TASKS must be a positive integer, not \`$tasks\`" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
config=$(realpath "$config")

GRSU_BIN=${GRSU_BIN:-grsu}
if [[ $GRSU_BIN != /* ]]; then
    GRSU_BIN=$(command -v "$GRSU_BIN") || {
        echo "no grsu binary: set GRSU_BIN" >&2
        exit 2
    }
fi
if [[ -z ${GRSU_OUTPUT:-} ]]; then
    GRSU_OUTPUT=$(python3 - "$config" <<'PY'
import os, sys, tomllib
path = sys.argv[1]
with open(path, "rb") as file:
    output = tomllib.load(file).get("run", {}).get("output", "")
if not output or "$" in output:
    sys.exit(1)
print(os.path.normpath(os.path.join(os.path.dirname(path), output)))
PY
    ) || {
        echo "cannot read a plain [run] output from $config: set GRSU_OUTPUT" >&2
        exit 2
    }
fi
export GRSU_CONFIG=$config GRSU_OUTPUT GRSU_BIN
export GRSU_WORKDIR=${GRSU_WORKDIR:-$PWD}

# shellcheck disable=SC2086 # the *_SBATCH_ARGS are lists of words
sweep=$(sbatch --parsable --export=ALL --chdir="$GRSU_WORKDIR" --array="0-$((tasks - 1))" \
    ${GRSU_SWEEP_SBATCH_ARGS:-} "$@" "$here/sweep.sbatch")
sweep=${sweep%%;*}
# shellcheck disable=SC2086
merge=$(sbatch --parsable --export=ALL --chdir="$GRSU_WORKDIR" --dependency="afterok:$sweep" \
    --kill-on-invalid-dep=yes ${GRSU_MERGE_SBATCH_ARGS:-} "$@" "$here/merge.sbatch")
merge=${merge%%;*}
echo "sweep array job: $sweep ($tasks tasks, shards in $GRSU_OUTPUT/shards)"
echo "merge job: $merge (after the array succeeds)"
echo "watch: squeue -j $sweep,$merge; grsu status $GRSU_OUTPUT/shards/<i>-of-$tasks"
