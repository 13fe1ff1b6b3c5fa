#!/bin/bash
# check-local.sh: deploy/slurm/ tried for real on a one-node Slurm cluster on this machine.
#
# Starts the cluster (local-cluster.sh) and a simulated vLLM fleet (tools/sim-vllm), runs a small
# sweep (2 variants x 30 ReDial samples) once without shards, then submits it as a 3-task array
# with submit.sh, requeues task 1 while it runs (Slurm sends it SIGTERM: it drains and resumes
# later), waits for the merge job, and compares the merged predictions with the unsharded run's:
# same records, none lost or doubled, identical predictions, and the fleet answered no finished
# call twice. Stops the cluster and the fleet at the end.
#
# Needs: apt-get install -y slurm-wlm munge (and slurmdbd mariadb-server for sacct), a build of
# grsu and sim-vllm (cargo build -p grsu-actors -p sim-vllm), and the shared data
# (GRSU_SHARED_DATA, default ../shared/data). Takes about 4 minutes (Slurm holds a requeued task
# for about 2 of them). Work folder: GRSU_CHECK_DIR (default /tmp/grsu-slurm-check).

set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
data=${GRSU_SHARED_DATA:-$root/../shared/data}
work=${GRSU_CHECK_DIR:-/tmp/grsu-slurm-check}
port=${GRSU_CHECK_PORT:-8490}
grsu=${GRSU_BIN:-$root/target/debug/grsu}
sim=${SIM_VLLM_BIN:-$root/target/debug/sim-vllm}

rm -rf "$work" && mkdir -p "$work/jobs"
cd "$work"
cleanup() {
    [[ -n ${fleet:-} ]] && kill "$fleet" 2>/dev/null
    "$here/local-cluster.sh" stop >/dev/null 2>&1
}
trap cleanup EXIT

echo "--- cluster and fleet"
"$here/local-cluster.sh" start || exit 1
export SLURM_CONF=${GRSU_SLURM_STATE:-/tmp/grsu-slurm}/slurm.conf
"$sim" --replicas 1 --base-port "$port" --catalog "$data/redial/id2info.json" \
    --data "$data/redial/test_data_processed.jsonl" --format ievalm \
    --served-model-name crs user --time-scale 0.001 >sim-vllm.log 2>&1 &
fleet=$!
for _ in $(seq 100); do curl -sf "localhost:$port/v1/models" >/dev/null && break; sleep 0.1; done

sweep() {
    cat <<EOF
[run]
name = "slurm_check"
seeds = [0]
output = "$1"
max_in_flight = 2
drain_timeout_s = 20

[data]
format = "ievalm"
path = "$data/redial/test_data_processed.jsonl"
catalog = "$data/redial/id2info.json"
only_new = true
limit = 30

[models.crs]
endpoints = ["http://127.0.0.1:$port/v1"]
model = "crs"
max_concurrency = 8

[models.user]
endpoints = ["http://127.0.0.1:$port/v1"]
model = "user"
max_concurrency = 8

[search]
strategy = "beam"
beam_width = 4
expand_width = 4
depth = 3
list_length = 10

[user]
critique = true
scoring_mode = "forced"
score_formula = "reference"

[output]
strategies = ["reward-mean", "best-list"]

[[variant]]
name = "GRSU"

[[variant]]
name = "- critiquing"
user.critique = false
EOF
}
requests() { curl -s "localhost:$port/sim/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }

echo "--- the unsharded run"
sweep "$work/unsharded" >unsharded.toml
before=$(requests)
"$grsu" run unsharded.toml >unsharded.out 2>&1 || { cat unsharded.out; exit 1; }
unsharded_calls=$(( $(requests) - before ))
echo "the fleet answered $unsharded_calls requests"

# What one `grsu doctor --config` asks (each task runs one before its shard).
before=$(requests)
"$grsu" doctor --config unsharded.toml >/dev/null 2>&1
doctor_calls=$(( $(requests) - before ))

echo "--- the same sweep as a 3-task array, task 1 requeued mid-run"
sweep "$work/sharded" >sweep.toml
before=$(requests)
export GRSU_BIN=$grsu GRSU_WORKDIR=$work/jobs
"$here/submit.sh" sweep.toml 3 | tee submit.out
array=$(awk '/sweep array job/ {print $4}' submit.out)
merge=$(awk '/merge job/ {print $3}' submit.out)
for _ in $(seq 300); do
    [[ -f sharded/shards/1-of-3/progress.json ]] && break
    sleep 0.1
done
sleep 2
squeue
"$grsu" status sharded 2>&1
echo "\$ scontrol requeue ${array}_1"
scontrol requeue "${array}_1"
for _ in $(seq 900); do
    state=$(sacct -n -X -j "$merge" -o State%20 2>/dev/null | head -1 | tr -d ' ')
    [[ $state == COMPLETED || $state == FAILED || $state == CANCELLED* ]] && break
    sleep 1
done
sacct -j "$array,$merge" --duplicates -X -o JobID%14,JobName%12,State%12,ExitCode,Start,End 2>/dev/null
echo "--- task 1's log"
grep -E "draining|stopped after|resume|already_done" "jobs/grsu-sweep-${array}_1.out" | cut -c1-200
sharded_calls=$(( $(requests) - before ))

echo "--- the merged sweep against the unsharded one"
"$grsu" export sharded >merged.jsonl 2>/dev/null
"$grsu" export unsharded >unsharded.jsonl 2>/dev/null
python3 - "$unsharded_calls" "$sharded_calls" "$doctor_calls" <<'PY'
import json, sys
def load(path):
    rows = [json.loads(line) for line in open(path)]
    return {(r["search"], r["seed"], r["sample"]): r["predictions"] for r in rows}, len(rows)
merged, merged_rows = load("merged.jsonl")
whole, whole_rows = load("unsharded.jsonl")
same = sum(merged.get(key) == value for key, value in whole.items())
unsharded_calls, sharded_calls, doctor_calls = (int(value) for value in sys.argv[1:4])
# Four doctor runs: one per task, and one more for the requeued task's second start.
expected = unsharded_calls + 4 * doctor_calls
print(f"records: merged {merged_rows} ({len(merged)} distinct), unsharded {whole_rows}")
print(f"identical predictions: {same} of {len(whole)}")
print(f"fleet requests: unsharded {unsharded_calls}; sharded with the requeue {sharded_calls} = "
      f"{unsharded_calls} + 4 doctor runs x {doctor_calls}: {'yes' if sharded_calls == expected else 'NO'}"
      " (no finished call paid twice)")
ok = merged_rows == len(merged) == whole_rows and same == len(whole) and sharded_calls == expected
print("OK" if ok else "MISMATCH")
sys.exit(0 if ok else 1)
PY
