#!/usr/bin/env bash
# One call of the resumable autoencoder v2 run (lmdm_core/training/ae_gan.py, docs/training.md "Autoencoder v2").
# Run from the repository root with carry [".whl", "data/works", "data/sf2"] plus "runs/ae-v2/state" once a
# previous call returned a state (copy $OUT/state/* there). Steps: render with $RENDER for at most $RENDER_SECONDS
# (renders finished by then are used; a build folder already at $DATA is resumed), resume from $STATE, train
# $TRAIN_SECONDS of wall clock (SIGTERM also stops cleanly), evaluate on held-out clips and export the EMA model.
# Returns in $OUT (at most 8 files): state/ (state.json + shards of <= 15 MiB: copy to runs/ae-v2/state/ to carry
# the next call), ckpt/ (lmdm checkpoint of the EMA autoencoder, float16), extras.tar (report.json, history.json,
# losses.png, WAV pairs, log.txt). Extra arguments go to ae_gan, e.g. --set warmup_steps=1500.
# A dry run elsewhere: PY=.venv/bin/python NO_WHEELS=1 DEVICE=cpu TRAIN_SECONDS=20 ... (see docs/training.md).
set -uo pipefail
OUT=${OUT:-out}
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
STATE=${STATE:-runs/ae-v2/state}
DATA=${DATA:-/tmp/lmdm-data-v2}
WORKS=${WORKS:-data/works}
SOUNDFONT=${SOUNDFONT:-data/sf2/TimGM6mb.sf2}
# 44.1 kHz / hop 2048 are the build's defaults (AutoencoderConfig), the v2 geometry
RENDER=${RENDER:-"$PY -m lmdm_core.data.build --works $WORKS --out $DATA --soundfont $SOUNDFONT --workers 16 --renders 1 --max-seconds 30"}
RENDER_SECONDS=${RENDER_SECONDS:-120}
TRAIN_SECONDS=${TRAIN_SECONDS:-380}
CALL_SECONDS=${CALL_SECONDS:-575}       # everything, state copy included, ends by then (a device call stops at 600)
CALL_START=${CALL_START:-$(date +%s)}   # a wrapper that rendered first exports its own start (epoch seconds)
RESERVE_SECONDS=${RESERVE_SECONDS:-100} # loading the renders before training, evaluation and export after it
RES=/tmp/ae-v2-out
t0=$CALL_START
mkdir -p "$OUT" "$RES"
LOG="$RES/log.txt"
source "$(dirname "$0")/site.sh"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 | tee "$LOG"
# shellcheck disable=SC2086   # RENDER is a command line
timeout "$RENDER_SECONDS" $RENDER 2>&1 | grep -v "render:" | tail -8 | tee -a "$LOG"
echo "render: $(( $(date +%s) - t0 )) s, $(wc -l < "$DATA/manifest.jsonl" 2>/dev/null || echo 0) renders" | tee -a "$LOG"
left=$(( t0 + CALL_SECONDS - $(date +%s) ))
train=$(( left - RESERVE_SECONDS < TRAIN_SECONDS ? left - RESERVE_SECONDS : TRAIN_SECONDS ))
echo "training for $train s ($left s left in the call)" | tee -a "$LOG"
# SIGTERM from timeout also stops training cleanly (the state is saved after the current step)
timeout -k 10 "$(( left - 10 ))" "$PY" -m lmdm_core.training.ae_gan --data "$DATA" --state "$STATE" \
    --out "$RES" --export "$OUT/ckpt" --seconds "$train" --device "$DEVICE" --half --no-progress \
    --workers 16 "$@" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
echo "total: $(( $(date +%s) - t0 )) s, rc $rc" | tee -a "$LOG"
rm -rf "$OUT/state" && cp -r "$STATE" "$OUT/state" 2>/dev/null
(cd "$RES" && tar cf "$OUT/extras.tar" report.json history.json losses.png wavs log.txt 2>/dev/null)
ls -la "$OUT" "$OUT/state" "$OUT/ckpt" 2>/dev/null
exit "$rc"
