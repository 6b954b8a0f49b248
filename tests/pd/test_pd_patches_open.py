"""Every shipped patch opens in real Pd, runs DSP for a moment, and Pd reports no error or failed object."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pdrun import PATCHES, PD_DIR, Serve, errors_in, quitter, run_pd

SHIPPED = sorted(PATCHES.glob("*.pd")) + sorted(PD_DIR.glob("*.pd"))
EXPECTED = {"lmdm~-help.pd", "generative-delay.pd", "text-to-music.pd", "jam.pd", "sensors.pd", "lmdm-meta.pd"}


def test_all_patches_are_shipped():
    assert EXPECTED <= {p.name for p in SHIPPED}


@pytest.mark.parametrize("patch", SHIPPED, ids=lambda p: p.name)
def test_patch_opens_cleanly(external, tmp_path, patch: Path):
    out = run_pd(patch, timeout=20, extra_open=(quitter(tmp_path),))
    assert "pd killed after timeout" not in out, out
    assert not errors_in(out), out


def test_patches_find_the_external_themselves(external, tmp_path):
    """No -path given: [declare -path ../../bridge/pd -stdpath lmdm] finds the build (or the installed library)."""
    out = run_pd(PATCHES / "generative-delay.pd", timeout=20, extra_open=(quitter(tmp_path),), paths=False)
    assert "lmdm~ 0.1" in out and not errors_in(out), out


@pytest.fixture(scope="module")
def worker():
    w = Serve(block=4096).start()   # one worker for all patches: each gets its own stream id
    yield w
    w.stop()


@pytest.mark.parametrize("name", ["lmdm~-help.pd", "generative-delay.pd", "text-to-music.pd", "jam.pd"])
def test_patch_connects_to_a_worker(external, worker, tmp_path, name: str):
    """The shipped patch, pointed at a real worker on a free port, opens a session in its mode with no error."""
    patch = tmp_path / name
    patch.write_text((PATCHES / name).read_text().replace("tcp://127.0.0.1:5555", worker.address))
    out = run_pd(patch, timeout=20, extra_open=(quitter(tmp_path),))
    assert f"lmdm~: connected to {worker.address}" in out, out
    assert not errors_in(out), out


def clicked(text: str, message: str, after_ms: int) -> str:
    """The patch `text` with its message box `message` clicked `after_ms` after load (a loadbang -> delay added)."""
    records = [r.strip() for r in text.split(";\n") if r.strip()]
    boxes = [r for r in records if re.match(r"#X (obj|msg|text|floatatom|symbolatom|listbox)\b", r)]
    box = next(i for i, r in enumerate(boxes) if re.fullmatch(rf"#X msg \d+ \d+ {re.escape(message)}", r))
    n = len(boxes)
    extra = ["#X obj 900 560 loadbang", f"#X obj 900 590 delay {after_ms}", f"#X connect {n} 0 {n + 1} 0",
             f"#X connect {n + 1} 0 {box} 0"]
    return ";\n".join(records + extra) + ";\n"


@pytest.mark.parametrize("name", ["lmdm~-help.pd", "generative-delay.pd", "jam.pd"])
def test_patch_offers_short_blocks(external, worker, tmp_path, name: str):
    """The patch's [block_size short( box reaches lmdm~: a new hello, welcomed with the loopback's short block."""
    patch = tmp_path / name
    text = (PATCHES / name).read_text().replace("tcp://127.0.0.1:5555", worker.address)
    patch.write_text(clicked(text, "block_size short", 500))
    out = run_pd(patch, timeout=20, extra_open=(quitter(tmp_path),))
    assert f"latency {worker.block // 4} samples, block {worker.block // 4}, block_size short" in out, out
    assert "block_size long" in (PATCHES / name).read_text()   # and the way back
    assert not errors_in(out), out
