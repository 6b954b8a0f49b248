#!/usr/bin/env bash
# Render the v2 training data (docs/data.md, "Data v2") on the GPU machine, mix only (the autoencoder set), in calls
# of at most HOURS hours of audio each; a later call on the same (warm) machine resumes where the last stopped.
# Run from the repository root with carry [".whl", "data/works", "data/sf3"]:
#   data/works  corpus works exported here (works.jsonl + *.mid, `lmdm data build --collections all --export-only`)
#   data/sf3    lmdm-v2.sf3 (`lmdm data soundfont-subset`) and piano-timgm6mb.sf2 (the fallback piano)
# The generated works are made here, from their seeds (pure Python, the same bytes as anywhere), into a copy of
# data/works, so they need not be carried. Renders land in $DATA (/tmp/lmdm-v2); $OUT gets manifest.jsonl,
# summary.json, works.jsonl and the log.
# Env: HOURS (8) audio hours this call, GENERATED (800) generated works, WORKERS (15), MAX_SECONDS (180),
#      STEMS (unset: --no-stems; set to 1 to write stems), EXTRA (more build arguments).
set -uo pipefail
OUT=${OUT:-out}
DATA=${DATA:-/tmp/lmdm-v2}
WORKS=${WORKS_COPY:-/tmp/lmdm-v2-works}
mkdir -p "$OUT" "$DATA" "$WORKS"
LOG="$OUT/log.txt"
source "$(dirname "$0")/site.sh"
cp -n data/works/* "$WORKS"/ 2>/dev/null || true    # -n: a resumed call keeps the copy (and its generated works)
stems="--no-stems"; [ -n "${STEMS:-}" ] && stems=""
t0=$(date +%s)
timeout "${BUILD_TIMEOUT:-570}" "${PY:-python3}" -m lmdm_core.data.build --works "$WORKS" --out "$DATA" \
    --generated "${GENERATED:-800}" --soundfont data/sf3/lmdm-v2.sf3 --fallback data/sf3/piano-timgm6mb.sf2 \
    --workers "${WORKERS:-15}" --renders 1 --max-seconds "${MAX_SECONDS:-180}" --hours "${HOURS:-8}" \
    --no-progress $stems ${EXTRA:-} 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
echo "render call: $(( $(date +%s) - t0 )) s, rc $rc; on disk: $(du -sh "$DATA" | cut -f1)" | tee -a "$LOG"
cp "$DATA/manifest.jsonl" "$DATA/summary.json" "$OUT/" 2>/dev/null
cp "$WORKS/works.jsonl" "$OUT/" 2>/dev/null
exit "$rc"
