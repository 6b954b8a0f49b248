#!/usr/bin/env bash
# One GPU call of the chained DiT v2 run (docs/training.md, "DiT v2"): render the v2 build with stems (render_v2.sh),
# encode it with the carried autoencoder, resume the carried DiT state, train for what is left of the call, save the
# state, export (float16) and report. Run from the repository root on a fresh machine with carry
# [".whl", "data/works", "data/sf3", "models/ae-v2-c16"] plus "runs/dit-v2/state" once a call returned a state, and
# docs/, lmdm_core/weights/, models/ae-v2/ moved out of the checkout for the call (the 64 MiB arithmetic in
# docs/training.md). On a warm machine the renders ($DATA), latents and state ($WORK) of the last call are reused.
# Returns in $OUT (8 files, each <= 15 MiB): state/ (state.json + 2 shards in ema8: copy to runs/dit-v2/state to
# carry it into the next call), ckpt/ (config.json + 3 shards, the EMA model, float16), extras.tar (report.json,
# history.json, losses.png when matplotlib is there, log.txt, the render's manifest/summary/log).
# Env: AE (models/ae-v2-c16), STATE (runs/dit-v2/state), DATA (/tmp/lmdm-v2), WORK (/tmp/lmdm-dit-v2),
#      HOURS (6: audio hours rendered, 0 = render nothing), RENDER (a render command instead of render_v2.sh),
#      RENDER_SECONDS (150), DIT_STEPS (9000: the plan over all calls), STATE_FORMAT (ema8), BLOCKS (48,12),
#      TRAIN_SECONDS (400), CALL_SECONDS (575), RESERVE_SECONDS (80: export and copies after training),
#      PY (python3), DEVICE (cuda). Extra arguments go to `lmdm train run`, e.g. --dit-batch 96.
# A dry run elsewhere: PY=.venv/bin/python NO_WHEELS=1 DEVICE=cpu ... (see docs/training.md, "DiT v2").
set -uo pipefail
OUT=${OUT:-out}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
AE=${AE:-models/ae-v2-c16}
STATE=${STATE:-runs/dit-v2/state}
export DATA=${DATA:-/tmp/lmdm-v2}
WORK=${WORK:-/tmp/lmdm-dit-v2}
HOURS=${HOURS:-6}
TRAIN_SECONDS=${TRAIN_SECONDS:-400}
CALL_SECONDS=${CALL_SECONDS:-575}       # everything, copies included, ends by then (a device call stops at 600)
RESERVE_SECONDS=${RESERVE_SECONDS:-80}
here=$(dirname "$0")
RES=/tmp/dit-v2-out
ROUT=/tmp/dit-v2-render
t0=$(date +%s)
rm -rf "$RES" "$ROUT" && mkdir -p "$OUT" "$RES" "$ROUT" "$WORK/dit"
LOG="$RES/log.txt"
source "$here/site.sh"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 | tee "$LOG"
if [ -n "${RENDER:-}" ]; then
    # shellcheck disable=SC2086   # RENDER is a command line
    timeout "${RENDER_SECONDS:-150}" $RENDER 2>&1 | grep -v "render:" | tail -8 | tee -a "$LOG"
elif [ "$HOURS" != 0 ]; then
    OUT=$ROUT STEMS=1 BUILD_TIMEOUT=${RENDER_SECONDS:-150} bash "$here/render_v2.sh" | tail -8 | tee -a "$LOG"
fi
echo "render: $(( $(date +%s) - t0 )) s, $(wc -l < "$DATA/manifest.jsonl" 2>/dev/null || echo 0) renders" | tee -a "$LOG"
if [ -d "$STATE" ] && [ ! -e "$WORK/dit/state" ]; then cp -r "$STATE" "$WORK/dit/state"; fi
left=$(( t0 + CALL_SECONDS - $(date +%s) ))
train=$(( left - RESERVE_SECONDS - 60 < TRAIN_SECONDS ? left - RESERVE_SECONDS - 60 : TRAIN_SECONDS ))
echo "DiT training for $train s ($left s left in the call, 60 s of it for loading and encoding)" | tee -a "$LOG"
# SIGTERM from timeout also ends training cleanly: the state is saved after the current step and the model exported
timeout -k 10 "$(( left - 10 ))" "$PY" -m lmdm_core.training.run --data "$DATA" --autoencoder "$AE" \
    --work "$WORK" --export "$OUT/ckpt" --dit-preset embedded-v2 --stream-preset paper \
    --blocks "${BLOCKS:-48,12}" --state-format "${STATE_FORMAT:-ema8}" --dit-steps "${DIT_STEPS:-9000}" \
    --seconds "$train" --device "$DEVICE" --workers 16 --half --no-progress "$@" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
echo "total: $(( $(date +%s) - t0 )) s, rc $rc" | tee -a "$LOG"
rm -rf "$OUT/state" && cp -r "$WORK/dit/state" "$OUT/state" 2>/dev/null
rm -rf "$WORK/export" && cp -r "$OUT/ckpt" "$WORK/export" 2>/dev/null   # for an ARC call on the warm machine
cp "$WORK/report.json" "$WORK/history.json" "$WORK/losses.png" "$RES/" 2>/dev/null   # (the autoencoder's WAVs stay)
(cd "$ROUT" && for f in *; do [ -e "$f" ] && cp "$f" "$RES/render-$f"; done) 2>/dev/null
(cd "$RES" && tar cf "$OUT/extras.tar" ./*)
ls -la "$OUT" "$OUT/state" "$OUT/ckpt" 2>/dev/null
exit "$rc"
