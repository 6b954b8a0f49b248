"""`lmdm bench soak`: real worker, real-time clients in their own processes, a real SIGKILL and restart.

Short runs against the loopback engine; the figures of long runs live in docs/benchmarks.md, not here."""
from __future__ import annotations

import json
import subprocess
import time
import sys
from pathlib import Path

import numpy as np

from bridge import protocol as W
from bridge import soak
from bridge.bench import _Worker
from bridge.soak_client import TABLE, ClientPlan, SoakClient

LMDM = str(Path(sys.executable).with_name("lmdm"))


def test_loopback_soak_survives_a_restart(tmp_path):
    out = tmp_path / "s"
    proc = subprocess.run([LMDM, "bench", "soak", "--minutes", "0.2", "--clients", "2", "--every", "2",
                           "--out", str(out)], capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r = json.loads(out.with_suffix(".json").read_text())
    t = r["totals"]
    (restart,) = r["restarts"]
    assert restart["t_up"] is not None and restart["t_back"] is not None and restart["t_back"] >= restart["t_kill"]
    assert t["lost"] == 0  # nothing lost outside the sessions the kill cut off
    assert t["lost_restart"] > 0  # the kill really cut requests off
    assert t["mismatch"] == 0 and t["nonfinite"] == 0 and t["out_of_order"] == 0
    assert t["answered"] + t["lost_restart"] + t["pending_end"] == t["requested"]
    assert t["zmq_params"] + t["osc_params"] > 0
    for c in r["clients"]:
        assert c["reconnects"] >= 1 and c["back_after_restart_s"] is not None
        assert c["answered"] > 0.5 * c["requested"]  # the restart costs about a second of the 12
    pids = {s["pid"] for s in r["samples"]}
    assert len(pids) == 2  # the RSS samples cover the first worker and the restarted one
    assert all(s["rss_mib"] > 10 and s["open_files"] > 0 for s in r["samples"])
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert "Verdict: ok" in out.with_suffix(".md").read_text()


def test_a_worker_killed_for_good_shows_as_loss():
    r = soak.run(soak.SoakConfig(minutes=0.15, clients=2, every_s=2, restart="kill"))
    t = r["totals"]
    assert not r["ok"]
    assert "not every client was served again after the restart" in r["problems"]
    after_kill = r["config"]["minutes"] * 60 - r["restarts"][0]["t_kill"]
    # everything asked for after the kill is lost or still owed at the end: over a third of the run
    assert t["lost_restart"] + t["pending_end"] > 0.3 * t["requested"] * after_kill / (r["config"]["minutes"] * 60)
    assert t["requested"] - t["answered"] == t["lost"] + t["lost_restart"] + t["pending_end"]


def test_a_client_slower_than_real_time_is_reported_late():
    r = soak.run(soak.SoakConfig(minutes=0.12, clients=2, every_s=2, restart="none", pace=0.7))
    t = r["totals"]
    assert t["late"] > 0.5 * t["answered"] > 0
    assert t["lost"] == 0 and t["mismatch"] == 0  # late, but every frame right


def test_mismatch_check_finds_one_wrong_sample():
    with _Worker("--model", "loopback", "--block", "1024") as w:
        plan = ClientPlan(index=0, stream="m", rate=48000, frames=512, seconds=1, drain_s=1, every_s=1, seed=3,
                          exact=True, address=w.address)
        c = SoakClient(plan, 0.0, None)
        c.gens[0].first_input = 512  # the session's input started at 512: before it, silence
        L = c.welcome.latency
        q = np.arange(L, L + 1024) - L
        want = c.table[q % TABLE].copy()
        want[q < 512] = 0.0
        msg = W.Generated(index=L, rate=48000, data=want.copy())
        assert c._mismatch(msg, c.gens[0]) == 0
        msg.data[700, 1] += 1e-7
        assert c._mismatch(msg, c.gens[0]) == 1
        msg.data[3, 0] = 0.25  # a sample where silence belongs
        assert c._mismatch(msg, c.gens[0]) == 2
        c.c.close()


def test_param_check_finds_a_value_not_in_force():
    with _Worker("--model", "loopback") as w:
        plan = ClientPlan(index=0, stream="p", rate=44100, frames=1024, seconds=1, drain_s=1, every_s=1, seed=4,
                          exact=True, address=w.address)
        c = SoakClient(plan, 0.0, None)

        def status_check(**sets):
            for name, value in sets.items():
                c.last_set[name] = (value, c.gens[0].welcomed + 0.01, 0)
            c._ask_status()
            c.asked[-1] = (time.monotonic() + 3, 0)  # as if asked later: the values are old enough to be checked
            c.on_message(c.c._wait(lambda m: isinstance(m, W.Status)), time.monotonic())

        c.c.set("mix", 0.25)
        status_check(mix=0.25)
        assert (c.count["params_checked"], c.count["params_not_applied"]) == (1, 0)
        status_check(prompt="never sent")
        assert (c.count["params_checked"], c.count["params_not_applied"]) == (3, 1)
        c.c.close()


def test_a_loopback_block_shorter_than_a_callback_is_refused_clearly():
    r = subprocess.run([LMDM, "bench", "soak", "--block", "1024", "--clients", "4"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode != 0 and "shorter than a 4096-frame callback" in r.stderr
