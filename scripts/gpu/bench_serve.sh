#!/usr/bin/env bash
# GPU figures of the worker's own path (issue 17; docs/benchmarks.md "Serve"): the graphed + slotted engine's GPU tests,
# the engine alone for N streams (`lmdm bench serve --engine`), and N real-time clients over real ZeroMQ against a real
# `lmdm serve --device cuda` (embedded model and SAOS-size random weights). Run on the device machine from the repo
# root (about 500 s; every step has its own timeout, the whole stays under 530 s):
#   bash scripts/gpu/bench_serve.sh                 # results under $OUT (or ./gpu_out), a short table last
#   EMB_CLIENTS=64,256 SAOS_CLIENTS=64,256 TRIAL_SECONDS=60 bash scripts/gpu/bench_serve.sh
#   ENGINE_NS=1,64,256 SAOS_CLIENTS=none T_EMB=0 bash scripts/gpu/bench_serve.sh    # skip steps
#   NO_WHEELS=1 CPU=1 bash scripts/gpu/bench_serve.sh    # dry run on a CPU (tiny sizes, no GPU tests)
set -u
OUT=${OUT:-gpu_out}; mkdir -p "$OUT"
. scripts/gpu/site.sh
PY=${PY:-python3}
SECONDS_PER_TRIAL=${TRIAL_SECONDS:-25}
ENGINE_NS=${ENGINE_NS:-1,16,128,512,1024}
EMB_CLIENTS=${EMB_CLIENTS:-64,256}
SAOS_CLIENTS=${SAOS_CLIENTS:-64,256}
MARGIN=${MARGIN:-1000}
PROCS=${PROCS:-8}
DEV="--device cuda --dtype bf16"
SAOS=random:saos-small
T_TEST=${T_TEST:-90} T_EMB=${T_EMB:-70} T_SAOS=${T_SAOS:-120} T_SERVE=${T_SERVE:-115}
TESTS=${TESTS:-tests/core/test_graphs.py tests/core/test_slots.py tests/bridge/test_batching.py::test_slot_engine_equals_each_stream_alone tests/bridge/test_batching.py::test_batched_decoder_equals_each_stream_alone}
export LMDM_BENCH_STACKS=1   # a stuck worker dumps its threads' stacks into its log
if [ -n "${CPU:-}" ]; then   # the dry run: same steps, CPU-sized
  DEV="--device cpu --steps 2" ENGINE_NS=1,2 EMB_CLIENTS=1 SAOS_CLIENTS=1 SECONDS_PER_TRIAL=3 PROCS=2 MARGIN=2000
  SAOS=${SAOS_CPU:-random:tiny}
fi
BS=("$PY" -c 'from bridge.commands import bench_serve as c; c(prog_name="lmdm bench serve")')  # no `lmdm` there
step() {  # name timeout command...
  local name=$1 t=$2; shift 2
  echo "== $name ($(date +%T))"
  timeout "$t" "$@" >"$OUT/$name.log" 2>&1; echo "$name rc=$?" | tee -a "$OUT/rc.txt"
}
nvidia-smi --query-gpu=name,memory.total,clocks.sm --format=csv >"$OUT/gpu.txt" 2>&1
if [ -z "${CPU:-}" ]; then
  step pytest $T_TEST "$PY" -m pytest -q -p no:cacheprovider $TESTS
fi
[ "$T_EMB" = 0 ] || step eng-emb $T_EMB "${BS[@]}" $DEV --engine "$ENGINE_NS" --out "$OUT/eng-emb"
[ "$T_SAOS" = 0 ] || step eng-saos $T_SAOS "${BS[@]}" --model "$SAOS" $DEV --engine "$ENGINE_NS" --out "$OUT/eng-saos"
[ "$EMB_CLIENTS" = none ] || step serve-emb $T_SERVE "${BS[@]}" $DEV --batch 1024 --margin-ms "$MARGIN" --clients "$EMB_CLIENTS" \
  --seconds "$SECONDS_PER_TRIAL" --procs "$PROCS" --log "$OUT/serve-emb.worker.log" --out "$OUT/serve-emb"
[ "$SAOS_CLIENTS" = none ] || step serve-saos $T_SERVE "${BS[@]}" --model "$SAOS" $DEV --batch 1024 --margin-ms "$MARGIN" --clients "$SAOS_CLIENTS" \
  --seconds "$SECONDS_PER_TRIAL" --procs "$PROCS" --log "$OUT/serve-saos.worker.log" --out "$OUT/serve-saos"
"$PY" - "$OUT" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
log = out / "pytest.log"
if log.exists():
    print(log.read_text()[-700:])
def result(name):
    f, log = out / f"{name}.json", out / f"{name}.log"
    if f.exists():
        return json.loads(f.read_text())
    print(f"{name}: no JSON;", log.read_text()[-900:] if log.exists() else "skipped")
for name in ("eng-emb", "eng-saos"):
    r = result(name)
    if r is None:
        continue
    print(f"{name}: {r['engine']} graphed={r['graphed']} block {r['block_s']} s, prepare {r['prepare_s']} s, "
          f"{r.get('gpu', '')} max mem {r.get('max_mem_GB')} GB")
    print(f"{'N':>6}{'GPU ms':>9}{'model ms':>10}{'step ms':>10}{'decode ms':>10}{'RT (model)':>12}{'RT (step)':>11}"
          f"{'batch':>7}")
    for x in r["rows"]:
        print(f"{x['streams']:>6}{x.get('graph_gpu_ms') or 0:>9.2f}{x['model_ms']:>10.2f}{x['step_ms']:>10.2f}"
              f"{x.get('batched_decode_ms', 0):>10.2f}"
              f"{x['realtime_streams_model']:>12.1f}{x['realtime_streams_step']:>11.1f}{x['batch']:>7}")
for name in ("serve-emb", "serve-saos"):
    r = result(name)
    if r is None:
        continue
    print(f"{name}: largest N with zero underruns {r['max_clients']} ({r['config']['seconds']} s trials)")
    for t in r["trials"]:
        lag = max((s.get("lag_p99_ms") or 0) for s in t["streams"] if "error" not in s) if t["streams"] else 0
        print(f"  N={t['clients']:5d} late {t['underruns']:6d} (worker {t['worker_underruns']}) of {t['requests']}  "
              f"p50 {t['latency_p50_ms']} p99 {t['latency_p99_ms']} ms  compute {t['compute_ms_avg']} ms/block  "
              f"batch {t['batch_max']}  client lag p99 {lag:.1f} ms  errors {len(t['errors'])}"
              + (f" ({t['errors'][0][:200]})" if t["errors"] else ""))
print((out / "gpu.txt").read_text())
PY
# the device tool returns at most 8 files: the JSON and PNG of each step, logs in one archive
tar czf /tmp/logs.tgz -C "$OUT" $(cd "$OUT" && ls *.log *.txt 2>/dev/null) && rm -f "$OUT"/*.log "$OUT"/rc.txt \
  && mv /tmp/logs.tgz "$OUT/logs.tgz"
ls "$OUT"
