"""lmdm~ built for Linux arm64 (`make -C bridge/pd arch=arm64`) in real arm64 Pd (Debian's puredata-core from an
arm64 root, under qemu-user) against the x86 `lmdm serve --model loopback`: the loopback test over 10 s.

Not collected by `make test` (the arm64 root takes about a minute to make and the cross libraries ~70 MB):
`make test-arm64` makes both and runs `pytest tests/pd/arm64_loopback.py`. Result: docs/pd.md "Linux arm64".
"""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from pdrun import ROOT, build_deken, check_loopback, errors_in, loaded_from, quitter, recording_patch, reported, run_pd

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
    assert str(EXTERNAL) in loaded_from(out), out
    check_loopback(out, wav_in, wav_out, block, SECONDS)
    lead = reported(out, "lead")
    print(f"\narm64 Pd under qemu-user: latency {block}, {int(44100 * SECONDS)} samples compared, underruns 0, "
          f"lead min/avg/max {lead[-1][:3] if lead else '?'} samples")


def test_full_deken_package_opens_in_arm64_pd(arm64_pd, tmp_path):
    """`make deken`'s two-arch archive: unpacked as arm64 Pd's only search path, the help patch loads lmdm~.l_arm64."""
    dek = build_deken("amd64 arm64", tmp_path / "deken")
    assert dek.name.endswith("(Linux-amd64-32)(Linux-arm64-32)(Sources).dek"), dek.name
    where = tmp_path / "externals"
    zipfile.ZipFile(dek).extractall(where)
    out = run_pd(where / "lmdm" / "lmdm~-help.pd", timeout=40, extra_open=(quitter(tmp_path),), paths=False,
                 pd=arm64_pd, flags=("-nostdpath", "-verbose", "-path", str(where)))
    assert str(where / "lmdm" / "lmdm~.l_arm64") in loaded_from(out), out
    assert "lmdm~ 0.1: Live Music Diffusion Models for Pd" in out and not errors_in(out), out
