#!/usr/bin/env bash
# ARC-Forcing of a stage-1 model on the GPU machine in one call (docs/arc-forcing.md). Run from the repository root
# with carry [".whl", "data/works", "data/sf2"] (and the stage-1 checkpoint folder when the machine is fresh).
# MODEL: the stage-1 checkpoint; training windows come from /tmp/lmdm-train/latents-train.pt when a warm machine
# still has it (train_embedded.sh left it there, encoded with the same autoencoder), else from a fresh render.
# Results: $OUT/arc (checkpoint), $OUT/arc-extras.tar (history, report, sample WAVs), $OUT/arc-log.txt; the
# checkpoint is also copied to /tmp/lmdm-arc for a following eval call.
# Usage: MODEL=/tmp/lmdm-ckpt scripts/gpu/arc_embedded.sh [extra args for lmdm_core.arc.run]
set -uo pipefail
OUT=${OUT:-out}
MODEL=${MODEL:-/tmp/lmdm-ckpt}
mkdir -p "$OUT"
LOG="$OUT/arc-log.txt"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:. PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader 2>&1 | tee -a "$LOG"
[ -f "$MODEL/config.json" ] || { echo "no stage-1 checkpoint at $MODEL" | tee -a "$LOG"; exit 2; }
LAT=/tmp/lmdm-train/latents-train.pt
if [ -f "$LAT" ]; then
    src=(--latents "$LAT")
else
    # the training recipe's render (the model's own rate and hop), as train_embedded.sh made it
    timeout 200 python3 -c "from pathlib import Path; from lmdm_core.training.run import render
from lmdm_core.pipeline import load_model; c = load_model('$MODEL').autoencoder.cfg
print(render(Path('data/works'), Path('/tmp/lmdm-train/data'), Path('data/sf2/TimGM6mb.sf2'), c.sample_rate, c.hop,
             1, 60.0, 16))" 2>&1 | grep -v "render:" | tee -a "$LOG"
    src=(--data /tmp/lmdm-train/data)
fi
timeout "${ARC_TIMEOUT:-560}" python3 -m lmdm_core.arc.run --model "$MODEL" "${src[@]}" --work /tmp/arc \
    --export "$OUT/arc" --half --no-progress "$@" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
rm -rf /tmp/lmdm-arc && cp -r "$OUT/arc" /tmp/lmdm-arc 2>/dev/null
(cd /tmp/arc && tar cf "$OUT/arc-extras.tar" history.json report.json samples 2>/dev/null)
ls -la "$OUT" "$OUT/arc" 2>/dev/null
exit "$rc"
