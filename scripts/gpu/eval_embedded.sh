#!/usr/bin/env bash
# Full-mode `lmdm eval` of one or more models on the GPU machine in one call (docs/evaluation.md).
# Run from the repository root with carry [".whl", "data/evalworks", "data/sf2"]: data/evalworks is a works folder
# (works.jsonl + *.mid, made from data/works) with every held-out work and some train works for the classifier.
# Renders them (1 render each, at most $MAX_SECONDS s, stems on) with 16 workers, then runs the full eval once per
# step count in $STEPS for each model in $MODELS ("label=checkpoint ...", default: the shipped weights; the classifier
# of the first run is reused by the others). Results: $OUT/eval.tar (LABEL-stepsN/eval.json, and
# instruments.safetensors of the first run) and $OUT/log.txt. PNGs are drawn elsewhere when matplotlib is missing.
set -uo pipefail
OUT=${OUT:-out}
WORKS=${WORKS:-data/evalworks}
STEPS=${STEPS:-"8 4 2"}
MODELS=${MODELS:-"shipped=lmdm_core/weights"}
DEVICE=${DEVICE:-cuda}
MAX_SECONDS=${MAX_SECONDS:-72}
DATA=/tmp/lmdm-eval-data
RES=/tmp/lmdm-eval
mkdir -p "$OUT" "$RES"
LOG="$OUT/log.txt"
source "$(dirname "$0")/site.sh"
nvidia-smi --query-gpu=name --format=csv,noheader 2>&1 | tee -a "$LOG"
t0=$(date +%s)
END=$(( t0 + ${TOTAL_SECONDS:-300} ))   # every eval stops by then (the call's own limit is a little longer)
timeout "${BUILD_TIMEOUT:-150}" python3 -m lmdm_core.data.build --works "$WORKS" --out "$DATA" \
    --soundfont data/sf2/TimGM6mb.sf2 --workers 16 --renders 1 --max-seconds "$MAX_SECONDS" --no-augment 2>&1 \
    | grep -v "render:" | tee -a "$LOG"
echo "build: $(( $(date +%s) - t0 )) s" | tee -a "$LOG"
clf=""
rc=0
run_eval() {   # label model steps device seconds-left
    timeout "$5" python3 -m lmdm_core.eval --data "$DATA" --model "$2" --out "$RES/$1-steps$3" --steps "$3" \
        --device "$4" --no-progress ${clf:+--classifier "$clf"} 2>&1 | tee -a "$LOG"
    return "${PIPESTATUS[0]}"
}
for m in $MODELS; do
    label=${m%%=*} model=${m#*=}
    for s in $STEPS; do
        t1=$(date +%s)
        left=$(( END - t1 ))
        [ "$left" -ge 30 ] || { echo "no time left for $label steps $s" | tee -a "$LOG"; rc=124; break 2; }
        run_eval "$label" "$model" "$s" "$DEVICE" "$left"
        rc=$?
        if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$DEVICE" != cpu ]; then   # no usable GPU: the CPU then
            DEVICE=cpu
            echo "$label steps $s failed on the GPU (rc $rc); again on the CPU" | tee -a "$LOG"
            run_eval "$label" "$model" "$s" cpu "$(( END - $(date +%s) ))"
            rc=$?
        fi
        echo "eval $label steps $s: rc $rc, $(( $(date +%s) - t1 )) s" | tee -a "$LOG"
        c="$RES/$label-steps$s/instruments.safetensors"
        [ -f "$c" ] && [ -z "$clf" ] && clf="$c"
        (cd "$RES" && tar cf "$OUT/eval.tar" .)
        [ "$rc" -eq 0 ] || break 2
    done
done
cp "$DATA/summary.json" "$OUT/data_summary.json" 2>/dev/null
ls -la "$OUT"
exit "$rc"
