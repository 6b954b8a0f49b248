#!/usr/bin/env bash
# GPU figures for the cached engine (docs/bench/model.md, GPU section). Run on the device machine from the repo root:
#   bash scripts/gpu/bench_engine.sh            # full logs and JSON in $OUT (or ./gpu_out), a short table last
set -u
OUT=${OUT:-gpu_out}; mkdir -p "$OUT"
export PYTHONPATH=. PYTHONUNBUFFERED=1
B="python3 -m lmdm_core.bench --preset saos-small --device cuda --dtype bf16 --json"
nvidia-smi --query-gpu=name,memory.total,clocks.sm --format=csv >"$OUT/gpu.txt" 2>&1
timeout 120 python3 -m pytest tests/core/test_graphs.py -q >"$OUT/pytest.log" 2>&1; echo "pytest rc=$?" >>"$OUT/pytest.log"
run() {  # name timeout args...
  local name=$1 t=$2; shift 2
  timeout "$t" $B "$@" >"$OUT/$name.json" 2>"$OUT/$name.err"; echo "$name rc=$?" >>"$OUT/rc.txt"
}
if [ "${1:-full}" = compile ]; then   # second plan: the compiled engine at the saturating batch
  run b1024_compile 150 --batch 1024 --engines graphed --compile --noise device --blocks 3 --warmup 2
else
run b1_host 120 --batch 1 --engines block_causal --cuda-graphs --noise host --blocks 10 --warmup 2
run b1_dev 90 --batch 1 --engines graphed --noise device --blocks 20 --warmup 2
for b in ${SWEEP:-32 128 512 1024 2048}; do
  run b${b} 60 --batch "$b" --engines graphed --noise device --blocks 5 --warmup 2
done
run b1_compile 200 --batch 1 --engines graphed --compile --noise host --blocks 20 --warmup 2
run b512_compile 150 --batch 512 --engines graphed --compile --noise device --blocks 5 --warmup 2
run b64_eager 90 --batch 64 --engines block_causal --cuda-graphs --noise host --blocks 4 --warmup 2
fi
python3 - "$OUT" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
print(open(out / "pytest.log").read()[-600:])
print(f"{'run':<10}{'engine':<14}{'batch':>6}{'ms/block':>10}{'cpu ms':>9}{'RT streams':>12}{'dec ms':>8}{'mem GB':>8}{'rel err':>10}")
for f in sorted(out.glob("*.json"), key=lambda p: p.stat().st_mtime):
    try:
        r = json.loads(f.read_text())
    except Exception:
        err = (out / (f.stem + ".err")).read_text()[-400:]
        print(f"{f.stem:<10} FAILED: {err}")
        continue
    for name, e in r["engines"].items():
        print(f"{f.stem:<10}{name:<14}{r['batch']:>6}{e['ms_per_block']:>10.2f}{e['cpu_ms_per_block']:>9.1f}"
              f"{e['realtime_streams']:>12.1f}{r['decoder_ms_per_block'] or 0:>8.2f}{r.get('max_mem_GB', 0):>8.1f}"
              f"{r.get('graphed_rel_err', float('nan')):>10.2e}")
print(open(out / "gpu.txt").read())
PY
# the device tool returns at most 8 files: keep everything in one archive
tar czf /tmp/all.tgz -C "$OUT" . && rm -f "$OUT"/*.json "$OUT"/*.err && mv /tmp/all.tgz "$OUT/all.tgz"
