"""One soak client (`lmdm bench soak`): streams in real time like a patch's audio callback and keeps the books.

Every `frames` samples of its clock (paced by the wall clock) the client sends that input and requests the output
one latency ahead, `[j·F + L, j·F + L + F)`. Definitions (docs/bench/soak.md):

- **play position** at wall time t: the client's clock after the callbacks due by t, C(t) = (⌊(t − t0)·rate/F⌋ + 1)·F
  (the callback that fired last has handed [C − F, C) to the sound card, so anything before C is spoken for).
- **late frame**: a generated frame at position p that reaches the client when C(t) > p (it missed its callback).
- **lost frame**: a requested frame never answered. Lost frames of the sessions the restart cut off (the one open at
  the kill, and any hello sent before the worker was back) count as restart losses, all others as losses.

The input is a fixed noise table repeated (position q plays table[q mod M]), so the loopback's answer can be checked
exactly: out[p] = in[p − L] for p − L at or after the session's first input, silence before.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import asdict, dataclass, field

import numpy as np
import zmq

from bridge import protocol as W
from bridge.client import Client

TABLE = 65537  # noise table length (prime, so it never lines up with a frame size)
PROMPTS = ("warm analog pad", "tape echo", "bright piano", "dusty drums", "soft strings", "glassy bells", "")


@dataclass
class ClientPlan:
    index: int
    stream: str
    rate: int
    frames: int
    seconds: float          # requesting stops after this
    drain_s: float          # then at most this long to collect what is still owed
    every_s: float          # bucket width of the time series
    seed: int
    exact: bool             # loopback: check bit-exactness, keep params that keep it exact
    pace: float = 1.0       # < 1: a broken client whose callbacks run slower than its clock
    param_every_s: float = 2.0
    address: str = ""
    osc_port: int | None = None


@dataclass
class Gen:
    """One session of this client: from opening a DEALER (hello) to the next one."""
    opened: float
    welcomed: float | None = None
    latency: int | None = None
    first_input: int | None = None
    status: dict = field(default_factory=dict)  # last status reply of this session


class PatchClient(Client):
    """A Client whose sends never block, as a patch's must not: with the worker gone the DEALER's queue fills, and
    what does not fit is dropped and counted."""

    dropped = 0

    def send(self, msg) -> None:
        try:
            self.sock.send(W.encode(msg), zmq.NOBLOCK)
        except zmq.Again:
            self.dropped += 1


@dataclass(slots=True)
class Pending:
    """A request not yet answered in full."""
    start: int
    end: int
    gen: int
    sent: float
    got: int = 0
    late: bool = False  # counted once in late_requests

    @property
    def owed(self) -> int:
        return self.end - self.start - self.got


class SoakClient:
    def __init__(self, plan: ClientPlan, t0: float, kill_at):
        self.p = plan
        self.t0, self.kill_at = t0, kill_at  # kill_at: shared value, monotonic time of the kill (0: none)
        self.rng = np.random.default_rng(plan.seed)
        self.table = self.rng.uniform(-0.5, 0.5, (TABLE, 2)).astype(np.float32)
        self.c = PatchClient(plan.address, stream=plan.stream, rate=plan.rate, channels=2, name="lmdm.soak")
        self.welcome = self.c.connect()
        self.gens = [Gen(opened=time.monotonic(), welcomed=time.monotonic(), latency=self.welcome.latency)]
        self.pending: deque[Pending] = deque()
        self.lost: list[tuple[int, float, int]] = []  # (gen, t_sent, frames)
        nb = int(math.ceil((plan.seconds + plan.drain_s) / plan.every_s)) + 2
        self.series = {k: np.zeros(nb, np.int64) for k in ("requested", "answered", "late", "mismatch")}
        self.lag_max = np.zeros(nb)
        self.count = dict(requested=0, answered=0, late=0, late_requests=0, mismatch=0, nonfinite=0, out_of_order=0, acks=0,
                          zmq_params=0, osc_params=0, params_checked=0, params_not_applied=0, callbacks=0, lagging_callbacks=0)
        self.errors: dict[str, int] = {}
        self.last_set: dict[str, tuple] = {}  # name -> (value, time sent, gen): checked against status params
        self.asked: deque[tuple[float, int]] = deque()  # status queries in flight: (time sent, gen)
        self.not_applied: list[dict] = []  # the first few values found not in force, for the report
        self.lags: list[float] = []
        self.osc = None
        if plan.osc_port:
            from pythonosc.udp_client import SimpleUDPClient
            self.osc = SimpleUDPClient("127.0.0.1", plan.osc_port)

    # --- the callback -----------------------------------------------------------------------------------------

    def _bucket(self, t: float) -> int:
        return min(len(self.lag_max) - 1, max(0, int((t - self.t0) / self.p.every_s)))

    def _sync_gen(self) -> None:
        """The Client opened a new DEALER (no_session or silence): what the old session owed is lost."""
        while len(self.gens) <= self.c.reconnects:
            self.gens.append(Gen(opened=time.monotonic()))
        cur = self.c.reconnects
        while self.pending and self.pending[0].gen < cur:
            self._lose(self.pending.popleft())

    def _lose(self, req: Pending) -> None:
        if req.owed > 0:
            self.lost.append((req.gen, req.sent, req.owed))

    def callback(self, j: int, due: float, now: float, requesting: bool) -> None:
        F = self.p.frames
        lag = now - due
        b = self._bucket(due)
        self.lag_max[b] = max(self.lag_max[b], lag)
        self.lags.append(lag)
        self.count["callbacks"] += 1
        self.count["lagging_callbacks"] += lag > F / self.p.rate
        self.c.heartbeat()
        self._sync_gen()
        gen = self.gens[-1]
        idx = j * F
        self.c.send(W.Audio(index=idx, rate=self.p.rate, data=self.table[(idx + np.arange(F)) % TABLE]))
        if gen.first_input is None:
            gen.first_input = idx
        if requesting:
            L = (gen.latency or self.c.welcome.latency)
            self.pending.append(Pending(idx + L, idx + L + F, len(self.gens) - 1, now))
            self.c.send(W.Request(index=idx + L, frames=F))
            self.count["requested"] += F
            self.series["requested"][b] += F

    # --- answers ----------------------------------------------------------------------------------------------

    def on_message(self, msg, now: float) -> None:
        self._sync_gen()
        g = len(self.gens) - 1
        if isinstance(msg, W.Generated):
            self._generated(msg, g, now)
        elif isinstance(msg, W.Welcome):
            self.gens[g].welcomed, self.gens[g].latency = now, msg.latency
        elif isinstance(msg, W.Status):
            self.gens[g].status = {k: getattr(msg, k, None) for k in
                                   ("underruns", "late_frames", "gaps", "blocks", "compute_ms_avg", "latency",
                                    "queue")}
            while self.asked and self.asked[0][1] != g:  # queries of a session gone are never answered
                self.asked.popleft()
            if self.asked:  # replies come in order: this one answers the oldest query in flight
                self._check_params(msg.params or {}, g, self.asked.popleft()[0])
        elif isinstance(msg, W.Ack):
            self.count["acks"] += 1
        elif isinstance(msg, W.Error):
            self.errors[msg.code] = self.errors.get(msg.code, 0) + 1
            self._sync_gen()  # no_session: the Client has said hello again

    def _generated(self, msg: W.Generated, g: int, now: float) -> None:
        n, idx, F = msg.frames, msg.index, self.p.frames
        while self.pending and self.pending[0].gen == g and self.pending[0].start + self.pending[0].got < idx:
            self._lose(self.pending.popleft())  # answers come in order: one skipped is never coming
        req = self.pending[0] if self.pending else None
        if req is None or req.start + req.got != idx or req.gen != g:
            self.count["out_of_order"] += 1
            return
        req.got += n
        if req.owed <= 0:
            self.pending.popleft()
        b = self._bucket(now)
        play = (math.floor((now - self.t0) * self.p.rate / F) + 1) * F
        late = int(min(n, max(0, play - idx)))
        self.count["answered"] += n
        self.count["late"] += late
        if late and not req.late:
            req.late = True
            self.count["late_requests"] += 1  # what the worker's `underruns` counts
        self.series["answered"][b] += n
        self.series["late"][b] += late
        if not np.isfinite(msg.data).all():
            self.count["nonfinite"] += n
        if self.p.exact:
            bad = int(self._mismatch(msg, self.gens[g]))
            self.count["mismatch"] += bad
            self.series["mismatch"][b] += bad

    def _mismatch(self, msg: W.Generated, gen: Gen) -> int:
        q = msg.index - (gen.latency or self.welcome.latency) + np.arange(msg.frames)
        want = self.table[q % TABLE]
        want[q < (gen.first_input or 0)] = 0.0
        return int((msg.data != want).any(axis=1).sum())

    # --- parameters and status ----------------------------------------------------------------------------------

    def change_param(self) -> None:
        """One random change, over ZeroMQ `param` or OSC `/lmdm/stream/<id>/<name>`. The loopback keeps only values
        under which its output stays bit-exact (mix 0 or 1, bypass); gain and sync stay put."""
        r = self.rng
        name = r.choice(["prompt", "prompt_b", "blend", "mode", "mix", "seed"] + (["bypass"] if self.p.exact else []))
        modes = self.c.welcome.modes or ["delay"]
        value = {"prompt": lambda: str(r.choice(PROMPTS)), "prompt_b": lambda: str(r.choice(PROMPTS)),
                 "blend": lambda: round(float(r.uniform(0, 1)), 3), "mode": lambda: str(r.choice(modes)),
                 "mix": lambda: float(r.choice([0.0, 1.0])) if self.p.exact else round(float(r.uniform(0, 1)), 3),
                 "seed": lambda: int(r.integers(0, 2**31 - 1)), "bypass": lambda: int(r.integers(0, 2))}[name]()
        self.last_set[str(name)] = (value, time.monotonic(), len(self.gens) - 1)
        if self.osc is not None and r.uniform() < 0.5:
            self.osc.send_message(f"/lmdm/stream/{self.p.stream}/{name}", value)
            self.count["osc_params"] += 1
        else:
            self.c.send(W.Param(name=str(name), value=value))
            self.count["zmq_params"] += 1

    def _ask_status(self) -> None:
        self.c.send(W.StatusQuery())
        self.asked.append((time.monotonic(), len(self.gens) - 1))

    def _check_params(self, params: dict, g: int, asked: float) -> None:
        """Every value set in this session at least 0.5 s before the status was asked must be in force (OSC and
        ZeroMQ alike; the margin covers OSC's separate path, and OSC sends floats as float32, hence the tolerance)."""
        welcomed = self.gens[g].welcomed
        for name, (value, t, gen) in self.last_set.items():
            if gen != g or welcomed is None or not welcomed < t < asked - 0.5:
                continue
            self.count["params_checked"] += 1
            have = params.get(name)
            same = math.isclose(have, value, rel_tol=1e-6) if isinstance(value, float) and \
                isinstance(have, (int, float)) else have == value
            if not same:
                self.count["params_not_applied"] += 1
                if len(self.not_applied) < 10:
                    self.not_applied.append({"name": name, "set": value, "status": have,
                                             "set_s": round(t - self.t0, 3), "asked_s": round(asked - self.t0, 3)})

    # --- the loop -----------------------------------------------------------------------------------------------

    def run(self, progress=None) -> dict:
        p = self.p
        period = p.frames / p.rate / p.pace
        stop, give_up = self.t0 + p.seconds, self.t0 + p.seconds + p.drain_s
        next_param = self.t0 + self.rng.exponential(p.param_every_s)
        next_status = next_report = self.t0 + p.every_s
        j = 0
        while True:
            now = time.monotonic()
            due = self.t0 + j * period
            if now >= due:
                self.callback(j, due, now, requesting=due < stop)
                j += 1
                if due >= stop and (not self.pending or now > give_up):
                    break
                continue
            if now >= next_status:
                self._ask_status()
                next_status += p.every_s
            if now >= next_param and now < stop:
                self.change_param()
                next_param += self.rng.exponential(p.param_every_s)
            if progress is not None and now >= next_report:
                progress.put(("progress", p.index, dict(self.count), sum(f for _, _, f in self.lost)))
                next_report += p.every_s
            msg = self.c.recv(timeout=max(0.0, due - now))
            if msg is not None:
                self.on_message(msg, time.monotonic())
        return self.finish(time.monotonic())

    def _last_status(self, timeout: float = 2.0) -> None:
        """One more status, so the worker's count covers the whole session (the periodic one may be 5 s old)."""
        self._ask_status()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = self.c.recv(timeout=deadline - time.monotonic())
            if msg is not None:
                self.on_message(msg, time.monotonic())
            if isinstance(msg, W.Status):
                return

    def finish(self, now: float) -> dict:
        self._last_status()
        pending_end = sum(r.owed for r in self.pending)
        self.c.close()
        kill = float(self.kill_at.value) if self.kill_at is not None else 0.0
        cut = self._restart_gens(kill)
        lost_restart = sum(f for g, _, f in self.lost if g in cut)
        lost_other = sum(f for g, _, f in self.lost if g not in cut)
        lost_series = np.zeros(len(self.lag_max), np.int64)
        lost_restart_series = np.zeros(len(self.lag_max), np.int64)
        for g, t, f in self.lost:
            (lost_restart_series if g in cut else lost_series)[self._bucket(t)] += f
        back = next((x.welcomed for x in self.gens if kill and x.welcomed and x.welcomed > kill), None)
        lags = np.array(self.lags) * 1e3
        return {"index": self.p.index, "stream": self.p.stream, "rate": self.p.rate, "frames": self.p.frames,
                "pace": self.p.pace, "latency": self.welcome.latency, **self.count, "send_dropped": self.c.dropped,
                "lost": lost_other, "lost_restart": lost_restart, "not_applied": self.not_applied, "pending_end": pending_end, "errors": self.errors,
                "reconnects": self.c.reconnects,
                "back_after_restart_s": round(back - kill, 3) if back else None,
                "lag_p50_ms": float(np.percentile(lags, 50)), "lag_p99_ms": float(np.percentile(lags, 99)),
                "lag_max_ms": float(lags.max()),
                "worker_underruns": sum(x.status.get("underruns") or 0 for x in self.gens),
                "worker_late_frames": (sum(x.status.get("late_frames") or 0 for x in self.gens)
                                       if any(x.status.get("late_frames") is not None for x in self.gens) else None),
                "sessions": [{**asdict(x), "opened": round(x.opened - self.t0, 3),
                              "welcomed": None if x.welcomed is None else round(x.welcomed - self.t0, 3)}
                             for x in self.gens],
                "series": {"requested": self.series["requested"].tolist(), "answered": self.series["answered"].tolist(),
                           "late": self.series["late"].tolist(), "mismatch": self.series["mismatch"].tolist(),
                           "lost": lost_series.tolist(), "lost_restart": lost_restart_series.tolist(),
                           "lag_max_ms": (self.lag_max * 1e3).round(3).tolist()}}

    def _restart_gens(self, kill: float) -> set[int]:
        """The sessions the restart cut off: the one open at the kill and those opened after it that never got a
        welcome (hello sent while the worker was down)."""
        if not kill:
            return set()
        cut = {i for i, g in enumerate(self.gens) if g.opened <= kill}
        cut = {max(cut)} if cut else set()
        for i, g in enumerate(self.gens):
            if g.opened > kill and g.welcomed is None:
                cut.add(i)
        return cut


def main(plan: ClientPlan, t0_value, go, kill_at, progress, results) -> None:
    """Entry of one client process: connect, say ready, wait for the common start, stream, send the books back."""
    try:
        client = SoakClient(plan, 0.0, kill_at)
        progress.put(("ready", plan.index, None, 0))
        go.wait()
        client.t0 = float(t0_value.value)
        results.put(client.run(progress))
    except Exception as exc:  # the coordinator reports it; a traceback in a child would be lost
        results.put({"index": plan.index, "error": f"{type(exc).__name__}: {exc}"})
