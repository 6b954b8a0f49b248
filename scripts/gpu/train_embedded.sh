#!/usr/bin/env bash
# Train the embedded default model on one GPU machine in one call (docs/training.md). Run from the repository root
# with carry [".whl", "data/works", "data/sf2"]; results land in $OUT (checkpoint, WAVs + report tarball, log).
# Usage: scripts/gpu/train_embedded.sh [extra args for lmdm_core.training.run]
set -uo pipefail
OUT=${OUT:-out}
mkdir -p "$OUT"
source "$(dirname "$0")/site.sh"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
WORK=/tmp/lmdm-train
timeout "${TRAIN_TIMEOUT:-560}" python3 -m lmdm_core.training.run --works data/works --soundfont data/sf2/TimGM6mb.sf2 \
    --work "$WORK" --export "$OUT/ckpt" --half --no-progress "$@" 2>&1 | tee "$OUT/log.txt"
rc=${PIPESTATUS[0]}
(cd "$WORK" && tar cf "$OUT/extras.tar" report.json history.json wavs data/summary.json 2>/dev/null)
ls -la "$OUT" "$OUT/ckpt" 2>/dev/null
exit "$rc"
