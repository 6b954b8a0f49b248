#!/usr/bin/env bash
# ARC-Forcing of a stage-1 model on the GPU machine in one call (docs/arc-forcing.md). Run from the repository root
# with carry [".whl", "data/works", "data/sf2"] (and the stage-1 checkpoint folder when the machine is fresh).
# MODEL: the stage-1 checkpoint. Training windows come from /tmp/lmdm-train/latents-train.pt when a warm machine
# still has it (train_embedded.sh left it there, encoded with the same autoencoder), else from a fresh render that
# is encoded once. RUNS: ';'-separated "label=extra args" runs, trained side by side (the embedded model leaves the
# GPU mostly idle, so two runs cost about the time of one), e.g. RUNS="a=--lr 1e-6;b=--lr 3e-6"; common args follow
# the script name. Results per label: /tmp/lmdm-arc-LABEL (checkpoint, for a following eval call; copy it into $OUT
# to bring it back: a call returns at most 8 files), $OUT/arc-LABEL.tar (history, report, the last sample WAVs) and
# $OUT/arc-LABEL.log. LAT: the training latents (a warm machine's from train_embedded.sh or train_dit_v2.sh).
set -uo pipefail
OUT=${OUT:-out}
MODEL=${MODEL:-/tmp/lmdm-ckpt}
RUNS=${RUNS:-"arc="}
WORKS=${WORKS:-data/works}
DEVICE=${DEVICE:-cuda}
PY=${PY:-python3}            # a dry run elsewhere: PY=.venv/bin/python NO_WHEELS=1 DEVICE=cpu
mkdir -p "$OUT"
source "$(dirname "$0")/site.sh"
nvidia-smi --query-gpu=name --format=csv,noheader
[ -f "$MODEL/config.json" ] || { echo "no stage-1 checkpoint at $MODEL"; exit 2; }
LAT=${LAT:-/tmp/lmdm-train/latents-train.pt}   # or the DiT v2 chain's: /tmp/lmdm-dit-v2/latents-train.pt
if [ ! -f "$LAT" ]; then   # the training recipe's render (the model's own rate and hop), encoded once
    t0=$(date +%s)
    timeout 300 "$PY" -c "from pathlib import Path
from lmdm_core.arc.run import training_latents
from lmdm_core.pipeline import load_model
from lmdm_core.training import ddp
from lmdm_core.training.run import render
m = load_model('$MODEL', device='$DEVICE'); c = m.autoencoder.cfg
render(Path('$WORKS'), Path('/tmp/lmdm-train/data'), Path('data/sf2/TimGM6mb.sf2'), c.sample_rate, c.hop, 1, 60.0, 16)
training_latents(Path('/tmp/lmdm-train/data'), m, Path('/tmp/lmdm-train'), ddp.setup('$DEVICE'))" 2>&1 \
        | grep -v "render:" | tail -5
    echo "render + encode: $(( $(date +%s) - t0 )) s"
fi
[ -f "$LAT" ] || { echo "no training latents at $LAT"; exit 3; }
pids=()
IFS=';' read -ra specs <<< "$RUNS"
for spec in "${specs[@]}"; do
    label=${spec%%=*} extra=${spec#*=}
    # shellcheck disable=SC2086   # extra holds several arguments
    timeout "${ARC_TIMEOUT:-560}" "$PY" -m lmdm_core.arc.run --model "$MODEL" --latents "$LAT" --device "$DEVICE" \
        --work "/tmp/arc-$label" --export "/tmp/lmdm-arc-$label" --half --no-progress "$@" $extra \
        > "$OUT/arc-$label.log" 2>&1 &
    pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=$?; done
for spec in "${specs[@]}"; do
    label=${spec%%=*}
    last=$(ls "/tmp/arc-$label/samples" 2>/dev/null | tail -2 | sed 's|^|samples/|')
    # shellcheck disable=SC2086
    (cd "/tmp/arc-$label" && tar cf "$OUT/arc-$label.tar" history.json report.json $last 2>/dev/null)
    # RETURN=1: bring the post-trained checkpoint back too (config + shards: 4 files for the DiT v2)
    if [ -n "${RETURN:-}" ]; then cp -r "/tmp/lmdm-arc-$label" "$OUT/$label" 2>/dev/null; fi
    tail -3 "$OUT/arc-$label.log"
done
ls -la "$OUT"
exit "$rc"
