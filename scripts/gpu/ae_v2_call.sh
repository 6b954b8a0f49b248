#!/usr/bin/env bash
# One GPU call of the autoencoder v2 run: render (or extend) the v2 data with render_v2.sh, then one resumable
# training call with train_ae_v2.sh on it. On a warm machine the renders (/tmp/lmdm-v2) and the state
# (runs/ae-v2/state) of the previous call are still there and are reused; on a fresh one, carry
# [".whl", "data/works", "data/sf3"] (+ "runs/ae-v2/state" to resume). $OUT keeps at most 8 files: render.tar
# (manifest, summary, works, log of the render), then what train_ae_v2.sh writes (state/, ckpt/, extras.tar).
# Env: HOURS (render cap this call, 0 = render nothing), TRAIN_SECONDS, and the knobs of both scripts.
set -uo pipefail
OUT=${OUT:-out}
here=$(dirname "$0")
export DATA=${DATA:-/tmp/lmdm-v2}
export CALL_START=${CALL_START:-$(date +%s)}   # CALL_SECONDS counts the render too (train_ae_v2.sh)
ROUT=/tmp/render-out
rm -rf "$ROUT" && mkdir -p "$ROUT" "$OUT"
if [ "${HOURS:-6}" != 0 ]; then
    OUT=$ROUT HOURS=${HOURS:-6} bash "$here/render_v2.sh" | tail -12
    (cd "$ROUT" && tar cf "$OUT/render.tar" .)
fi
RENDER=true bash "$here/train_ae_v2.sh" "$@"
