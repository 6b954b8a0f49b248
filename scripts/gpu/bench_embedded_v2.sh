#!/usr/bin/env bash
# GPU figures for the embedded v2 shapes (docs/model-card.md, "Speed"): the CUDA-graph test at both block sizes, then
# one stream's DiT block (eager, the worker's path today, and graphed) and streaming decoder block at long (48) and
# short (12) blocks, bf16, 8 steps. Random weights of the shipped shapes (the time does not depend on the values).
# Run on the device machine from the repo root with carry [".whl"]; JSON and logs come back in $OUT.
set -u
OUT=${OUT:-gpu_out}; mkdir -p "$OUT"
source "$(dirname "$0")/site.sh"
nvidia-smi --query-gpu=name,memory.total,clocks.sm --format=csv >"$OUT/gpu.txt" 2>&1
timeout 150 python3 -m pytest tests/core/test_graphs.py -q -p no:cacheprovider >"$OUT/pytest.log" 2>&1
echo "pytest rc=$?" >>"$OUT/pytest.log"
for block in 48 12; do
    for dtype in bf16 fp32; do
        timeout 90 python3 -m lmdm_core.bench --preset embedded-v2 --block "$block" --device cuda --dtype "$dtype" \
            --engines block_causal --cuda-graphs --noise host --blocks 20 --warmup 3 --json \
            >"$OUT/b${block}-${dtype}.json" 2>"$OUT/b${block}-${dtype}.err"
        echo "block $block $dtype rc=$?"
    done
done
python3 - "$OUT" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
print(open(out / "pytest.log").read()[-500:])
for f in sorted(out.glob("b*.json")):
    try:
        r = json.loads(f.read_text())
    except ValueError:
        print(f.stem, "FAILED", (out / (f.stem + ".err")).read_text()[-300:])
        continue
    e = r["engines"]
    print(f"{f.stem}: eager {e['block_causal']['ms_per_block']} ms, graphed {e['graphed']['ms_per_block']} ms, "
          f"decoder {r['decoder_ms_per_block']} ms, rel err {r.get('graphed_rel_err')}, block {r['block_seconds']} s")
PY
