"""lmdm~ built for Linux arm64 (`make -C bridge/pd arch=arm64`) in real arm64 Pd (Debian's puredata-core from an
arm64 root, under qemu-user) against the x86 `lmdm serve --model loopback`: the loopback test over 10 s.

Not collected by `make test` (the arm64 root takes about a minute to make and the cross libraries ~70 MB):
`make test-arm64` makes both and runs `pytest tests/pd/arm64_loopback.py`. Result: docs/pd.md "Linux arm64".
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from pdrun import ROOT, check_loopback, recording_patch, reported, run_pd

SECONDS = 10.0
ARM64_ROOT = Path(os.environ.get("LMDM_ARM64_ROOT", ROOT / "build" / "arm64-root"))
EXTERNAL = ROOT / "build" / "pd" / "arm64" / "lmdm~.l_arm64"
EM_AARCH64 = 183   # ELF e_machine of AArch64


def elf_machine(path: Path) -> int:
    head = path.read_bytes()[:20]
    assert head[:4] == b"\x7fELF", f"{path} is not an ELF file"
    return int.from_bytes(head[18:20], "little")


@pytest.fixture(scope="module")
def arm64_pd() -> tuple[str, ...]:
    pd = ARM64_ROOT / "usr" / "lib" / "puredata" / "bin" / "pd"
    if not pd.exists() or not EXTERNAL.exists():
        pytest.fail("no arm64 root or build: run `make test-arm64` (scripts/arm64_root.sh, make -C bridge/pd arch=arm64)")
    assert elf_machine(pd) == elf_machine(EXTERNAL) == EM_AARCH64
    return ("qemu-aarch64", "-L", str(ARM64_ROOT), str(pd))


def test_arm64_pd_loopback_exact_latency_no_underruns(arm64_pd, serve, tmp_path):
    block = 32768   # as tests/pd/test_pd_loopback.py: room for a loaded two-core machine, exactness unaffected
    worker = serve(block=block)
    wav_in, wav_out = tmp_path / "in.wav", tmp_path / "out.wav"
    patch = recording_patch(tmp_path / "loop.pd", worker.address, SECONDS, wav_in, wav_out,
                            events=((SECONDS + 1.0, "bang"),))
    # Only the arm64 build's folder is searched, and -verbose names the file Pd loaded.
    out = run_pd(patch, timeout=SECONDS + 40, paths=False, pd=arm64_pd,
                 flags=("-nostdpath", "-verbose", "-path", str(EXTERNAL.parent)))
    loaded = re.findall(r"tried (\S+) and succeeded", out)
    assert str(EXTERNAL) in loaded, out
    check_loopback(out, wav_in, wav_out, block, SECONDS)
    lead = reported(out, "lead")
    print(f"\narm64 Pd under qemu-user: latency {block}, {int(44100 * SECONDS)} samples compared, underruns 0, "
          f"lead min/avg/max {lead[-1][:3] if lead else '?'} samples")
