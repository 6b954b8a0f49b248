#!/usr/bin/env bash
# Fine-tune shipped/stage-1 models side by side on the GPU machine in one call (docs/training.md, "Fine-tuning").
# Run from the repository root with carry [".whl", "data/works", "data/sf2"] plus any checkpoint folder named in
# RUNS. RUNS: ';'-separated "label=args for lmdm_core.training.run" (each with its --init); common args follow the
# script name. The first run renders and encodes (its work folder /tmp/ft-LABEL); the others start when its latents
# exist and reuse them (same autoencoder: --init keeps it), so the renders are made once. The embedded DiT leaves
# the GPU mostly idle, so two runs cost about the time of one. Results: $OUT/LABEL (checkpoint), $OUT/LABEL.log
# (report at the end); checkpoints also in /tmp/lmdm-ft-LABEL for a following eval call.
set -uo pipefail
OUT=${OUT:-out}
TOTAL=${TOTAL_SECONDS:-540}
WORKS=${WORKS:-data/works}
PY=${PY:-python3}            # a dry run elsewhere: PY=.venv/bin/python NO_WHEELS=1 WORKS=... (CPU)
mkdir -p "$OUT"
source "$(dirname "$0")/site.sh"
nvidia-smi --query-gpu=name --format=csv,noheader
IFS=';' read -ra specs <<< "$RUNS"
t0=$(date +%s)
first=${specs[0]%%=*}
pids=()
start() {   # label, total seconds, args...
    local label=$1 total=$2; shift 2
    # shellcheck disable=SC2068
    timeout $(( total + 40 )) "$PY" -m lmdm_core.training.run --works "$WORKS" --soundfont data/sf2/TimGM6mb.sf2 \
        --work "/tmp/ft-$label" --export "$OUT/$label" --half --no-progress --renders 1 --max-seconds 60 \
        --total-seconds "$total" --reserve-seconds 20 $@ > "$OUT/$label.log" 2>&1 &
    pids+=($!)
}
# shellcheck disable=SC2086
start "$first" "$TOTAL" "$@" ${specs[0]#*=}
for spec in "${specs[@]:1}"; do
    label=${spec%%=*}
    while [ ! -f "/tmp/ft-$first/latents-heldout.pt" ]; do
        sleep 2
        kill -0 "${pids[0]}" 2>/dev/null || { echo "$first stopped before encoding"; break 2; }
    done
    sleep 10   # the held-out set is written after the train set; let it finish
    mkdir -p "/tmp/ft-$label"
    ln -sfn "/tmp/ft-$first/data" "/tmp/ft-$label/data"
    ln -sf "/tmp/ft-$first/latents-train.pt" "/tmp/ft-$first/latents-heldout.pt" "/tmp/ft-$label/"
    # shellcheck disable=SC2086
    start "$label" $(( TOTAL - ($(date +%s) - t0) )) "$@" ${spec#*=}
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
for spec in "${specs[@]}"; do
    label=${spec%%=*}
    rm -rf "/tmp/lmdm-ft-$label" && cp -r "$OUT/$label" "/tmp/lmdm-ft-$label" 2>/dev/null
    grep -E "^\[|held-out" "$OUT/$label.log"
    cat "/tmp/ft-$label/report.json" >> "$OUT/$label.log" 2>/dev/null
done
ls -la "$OUT"
exit "$rc"
