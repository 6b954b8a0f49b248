#!/usr/bin/env bash
# GPU figures for the streaming decoder (issue 17 part 3, issue 15's decoder half; docs/bench/decoder-gpu/): today's
# per-batch BlockStream against decoding.BatchDecoder (graphed, fused snake, channels-last, interval-cut) at SAOS size
# and embedded-v2, batch 1/64/512, bf16, every variant fed the same latents (rel err vs the BlockStream). Runs within
# ~400 s: a deadline skips what would not fit. On the device machine from the repo root, PYTHONPATH with the wheels:
#   bash scripts/gpu/bench_decoder.sh          # JSON lines and logs in $OUT/all.tgz, the table last
# Dry run on a CPU: DEV=cpu SAOS=tiny EMB=tiny SAOS_BATCHES=2 EMB_BATCHES=1 DTYPE=fp32 PY=.venv/bin/python bash ...
set -u
OUT=${OUT:-gpu_out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=${PYTHONPATH:-.}
PY=${PY:-python3} DEV=${DEV:-cuda} DTYPE=${DTYPE:-bf16}
SAOS=${SAOS:-saos} EMB=${EMB:-embedded-v2}
SAOS_BATCHES=${SAOS_BATCHES:-1,64,512} EMB_BATCHES=${EMB_BATCHES:-1,64,512}
SAOS_VARIANTS=${SAOS_VARIANTS:-stream,batched,batched-nofold,batched-compile,batched-eager}
EMB_VARIANTS=${EMB_VARIANTS:-stream,batched,batched-eager}
STEPS=${STEPS:-probe,pytest,saos,emb48,emb12,profile,model}   # a subset for a short call; PYTEST_K selects tests
DEADLINE=$((SECONDS + ${BUDGET_S:-330}))
step() {  # name max_seconds command...: run it with what is left of the budget, log to $OUT/name.{out,err}
  local name=$1 t=$2; shift 2
  case ",$STEPS," in *",$name,"*) ;; *) return ;; esac
  local left=$((DEADLINE - SECONDS - 5))
  [ "$left" -lt "$t" ] && t=$left
  if [ "$t" -lt 20 ]; then echo "$name skipped (no time left)" >>"$OUT/rc.txt"; return; fi
  timeout "$t" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err"; echo "$name rc=$? ($((SECONDS))s)" >>"$OUT/rc.txt"
}
D="$PY -m lmdm_core.ae_bench decoder --device $DEV --dtype $DTYPE --json"
[ "$DEV" = cuda ] && nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem --format=csv >"$OUT/gpu.txt" 2>&1
step probe 45 "$PY" - "$DEV" <<'PY'
# the two ceilings and the decoder's own kernels at SAOS's full-rate stage (128 ch, 128 rows x 48 latents x 2048)
import sys, torch
from torch.nn import functional as F
dev = sys.argv[1]
if dev != "cuda":
    print("probe: CUDA only"); sys.exit(0)
from triton.testing import do_bench
from lmdm_core.decoding import _compiled, snake_act
torch.backends.cudnn.benchmark = True
cl = torch.channels_last
b, c, t = 128, 128, 48 * 2048
x = torch.randn(b, c, 1, t, device="cuda", dtype=torch.bfloat16).contiguous(memory_format=cl)
gb = x.numel() * 2 / 1e9
ms = do_bench(lambda: x.clone(), return_mode="median"); print(f"copy {2 * gb / ms:.1f} TB/s ({gb:.1f} GB)")
m1, m2 = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16), torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
ms = do_bench(lambda: m1 @ m2, return_mode="median"); print(f"matmul 8192^3 {2 * 8192**3 / ms / 1e9:.0f} TFLOP/s")
for d in (1, 3, 9):
    w = torch.randn(c, c, 1, 7, device="cuda", dtype=torch.bfloat16).contiguous(memory_format=cl)
    ms = do_bench(lambda: F.conv2d(x, w, padding=(0, 3 * d), dilation=(1, d)), return_mode="median")
    print(f"conv k7 d{d} channels-last {ms:.2f} ms {2 * c * c * 7 * b * t / ms / 1e9:.0f} TFLOP/s {2 * gb / ms:.1f} TB/s")
    xc = x.contiguous()
    wc = w.contiguous()
    ms = do_bench(lambda: F.conv2d(xc, wc, padding=(0, 3 * d), dilation=(1, d)), return_mode="median")
    print(f"conv k7 d{d} NCHW          {ms:.2f} ms {2 * c * c * 7 * b * t / ms / 1e9:.0f} TFLOP/s")
    if d > 1:   # the dilation folded into H: [B, C, T/d, d] with a (7, 1) kernel, no dilation
        tf = t // d * d
        xf = torch.randn(b, c, tf // d, d, device="cuda", dtype=torch.bfloat16).contiguous(memory_format=cl)
        wf = w.view(c, c, 7, 1).contiguous(memory_format=cl)
        ms = do_bench(lambda: F.conv2d(xf, wf, padding=(3, 0)), return_mode="median")
        print(f"conv k7 d{d} folded (7,1)  {ms:.2f} ms {2 * c * c * 7 * b * tf / ms / 1e9:.0f} TFLOP/s")
w1 = torch.randn(c, c, 1, 1, device="cuda", dtype=torch.bfloat16).contiguous(memory_format=cl)
ms = do_bench(lambda: F.conv2d(x, w1), return_mode="median"); print(f"conv 1x1 {ms:.2f} ms {2 * gb / ms:.1f} TB/s")
al = torch.rand(1, c, 1, 1, device="cuda") + 0.5
lim = torch.zeros(b, dtype=torch.long, device="cuda")
from lmdm_core.snake_kernel import act
ms = do_bench(lambda: act(x, al, al, lim), return_mode="median"); print(f"snake triton {ms:.2f} ms {2 * gb / ms:.1f} TB/s")
ms = do_bench(lambda: snake_act(x, al, al, None), return_mode="median"); print(f"snake eager {ms:.2f} ms")
f = _compiled("snake")
ms = do_bench(lambda: f(x, al, al, lim), return_mode="median"); print(f"snake compiled {ms:.2f} ms {2 * gb / ms:.1f} TB/s")
PY
step pytest 90 "$PY" -m pytest tests/model/test_decoding.py -q -p no:cacheprovider -k "${PYTEST_K:-}"
step saos 130 $D --presets "$SAOS" --batches "$SAOS_BATCHES" --blocks 3 --warmup 2 --variants "$SAOS_VARIANTS"
step emb48 45 $D --presets "$EMB" --batches "$EMB_BATCHES" --blocks 10 --warmup 2 --variants "$EMB_VARIANTS"
step emb12 30 $D --presets "$EMB" --batches 1 --block 12 --blocks 10 --warmup 2 --variants stream,batched
# where the time goes: kernels of one SAOS block at 128 rows, eager (a replay would show as one launch)
step profile 40 $D --presets "$SAOS" --batches "${PROFILE_BATCH:-128}" --blocks 1 --warmup 1 --variants batched-nograph \
    --profile "$OUT/profile.txt"
if [ "$DEV" = cuda ]; then   # issue 15: one embedded-v2 stream, DiT graphed + compiled and the graphed decoder
    step model 100 $PY -m lmdm_core.bench --preset embedded-v2 --block 48 --device cuda --dtype bf16 \
        --engines block_causal --cuda-graphs --compile --noise host --decoder batched --blocks 10 --warmup 3 --json
fi
$PY - "$OUT" <<'PY'
import json, sys, pathlib
from lmdm_core.ae_bench import DecoderTiming, decoder_table
out = pathlib.Path(sys.argv[1])
print((out / "rc.txt").read_text())
for name in ("probe", "pytest"):
    if (out / f"{name}.out").exists():
        print((out / f"{name}.out").read_text()[-1500:])
rows = []
for name in ("saos", "emb48", "emb12"):
    f = out / f"{name}.out"
    for line in (f.read_text().splitlines() if f.exists() else []):
        if line.startswith("{"):
            d = json.loads(line)
            rows.append(DecoderTiming(**{k: d[k] for k in DecoderTiming.__dataclass_fields__}))
    err = out / f"{name}.err"
    if err.exists() and "Traceback" in err.read_text():
        print(name, "FAILED:", err.read_text()[-1500:])
print(decoder_table(rows))
if (out / "profile.txt").exists():
    print("\n".join((out / "profile.txt").read_text().splitlines()[:32]))
m = out / "model.out"
if m.exists() and m.read_text().strip().startswith("{"):
    r = json.loads(m.read_text())
    e = r["engines"]
    print(f"embedded-v2 one stream: DiT eager {e['block_causal']['ms_per_block']} ms, graphed+compiled "
          f"{e['graphed']['ms_per_block']} ms, decoder ({r['decoder']}) {r['decoder_ms_per_block']} ms, "
          f"DiT + decoder {e['graphed']['ms_per_block'] + r['decoder_ms_per_block']:.2f} ms")
elif m.exists():
    print("model FAILED:", (out / "model.err").read_text()[-800:])
if (out / "gpu.txt").exists():
    print((out / "gpu.txt").read_text())
PY
tar czf /tmp/decoder_all.tgz -C "$OUT" . && rm -f "$OUT"/*.out "$OUT"/*.err && mv /tmp/decoder_all.tgz "$OUT/all.tgz"
