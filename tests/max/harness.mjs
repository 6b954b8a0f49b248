// Test harness for the Max package: a real worker subprocess, the real node.script bridge in its own Node process
// (with the max-api stand-in), and a simulated patch that runs the real lmdm.buffer.js in a vm with a stand-in
// `Buffer` (the documented peek/poke/framecount/channelcount of Max's JS Buffer) and plays the role of
// [count~] -> [poke~] / [index~] and [metro] -> [snapshot~].
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { after, before } from "node:test";
import vm from "node:vm";

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, "../..");
export const JS_DIR = path.join(ROOT, "patches/max/lmdm/javascript");
const LMDM = process.env.LMDM_BIN || path.join(ROOT, ".venv/bin/lmdm");

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(predicate, timeoutMs, what) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (predicate()) return;
    await sleep(10);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}

/** `lmdm serve --model loopback` on a free port; resolves once it accepts connections. */
/** A real `lmdm serve` on `port`: the loopback (`block` frames), or `model` (a checkpoint path). */
export async function startWorker({ port, block = 2048, heartbeatMs = 1000, extra = [], model = "loopback",
  listenMs = 30000 }) {
  const args = ["serve", "--model", model, "--block", String(block), "--zmq", `tcp://127.0.0.1:${port}`,
    "--osc", "none", "--osc-reply", "none", "--heartbeat-ms", String(heartbeatMs), ...extra];
  const proc = spawn(LMDM, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stdout.on("data", (d) => { log += d; });
  proc.stderr.on("data", (d) => { log += d; });
  const exited = new Promise((r) => proc.once("exit", r));
  let alive = true;
  exited.then(() => { alive = false; });
  const until = Date.now() + listenMs;
  while (!(await portOpen(port))) {
    if (!alive) throw new Error(`worker exited before listening:\n${log}`);
    if (Date.now() > until) throw new Error(`worker did not listen on ${port}:\n${log}`);
    await sleep(50);
  }
  return {
    proc, port, log: () => log,
    async stop(signal = "SIGTERM") {
      if (alive) proc.kill(signal);
      const timer = setTimeout(() => alive && proc.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One worker for a whole test file (node:test before/after hooks); `.port` is set once it listens. */
export function useWorker(options) {
  const shared = { port: null, worker: null };
  before(async () => {
    shared.port = await freePort();
    shared.worker = await startWorker({ port: shared.port, ...options });
  });
  after(async () => {
    if (shared.worker) await shared.worker.stop();
  });
  return shared;
}

/** lmdm.bridge.js in its own Node process, as node.script runs it (`args`: the words after the script name);
 * messages go in and out as JSON lines. */
export function startBridge(args = []) {
  const proc = spawn(process.execPath, [path.join(JS_DIR, "lmdm.bridge.js"), ...args], {
    cwd: JS_DIR,
    env: { ...process.env, NODE_PATH: path.join(here, "stub") },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const bridge = {
    proc, outlets: [], posts: [], stderr: "", exited: false, onOutlet: null,
    send(selector, ...args) {
      if (!proc.stdin.writableEnded) proc.stdin.write(`${JSON.stringify([selector, ...args])}\n`);
    },
    errors() {
      return this.posts.filter((p) => p.level === "error").map((p) => p.post);
    },
    status(key) {
      const found = this.outlets.filter((o) => o[0] === "status" && o[1] === key);
      return found.length ? found[found.length - 1][2] : undefined;
    },
    async stop() {
      if (!this.exited) proc.stdin.end();
      await new Promise((r) => (this.exited ? r() : proc.once("exit", r)));
    },
  };
  proc.once("exit", () => { bridge.exited = true; });
  proc.stderr.on("data", (d) => { bridge.stderr += d; });
  readline.createInterface({ input: proc.stdout }).on("line", (line) => {
    let msg;
    try { msg = JSON.parse(line); } catch { return; }
    if (msg.outlet) {
      if (msg.outlet[0] !== "generated") bridge.outlets.push(msg.outlet);
      if (bridge.onOutlet) bridge.onOutlet(msg.outlet);
    } else if (msg.post !== undefined) {
      bridge.posts.push(msg);
    }
  });
  return bridge;
}

/** Max's JS `Buffer`, over Float32Arrays (buffer~ holds 32-bit floats): channels 1-based, frames 0-based. */
export class StandInBuffer {
  constructor(frames, channels) {
    this.data = Array.from({ length: channels }, () => new Float32Array(frames));
  }
  /** buffer~'s `sizeinsamps`: same object, new length (the script keeps its reference). */
  resize(frames) {
    this.data = this.data.map(() => new Float32Array(frames));
  }
  framecount() { return this.data[0].length; }
  channelcount() { return this.data.length; }
  peek(channel, frame, count) {
    const out = Array.from(this.data[channel - 1].subarray(frame, frame + count));
    return count === 1 ? out[0] : out;
  }
  poke(channel, frame, samples) {
    const values = typeof samples === "number" ? [samples] : samples;
    this.data[channel - 1].set(values, frame);
  }
}

/** lmdm.buffer.js in a vm context with the globals Max's [v8]/[js] give it. */
export function loadBufferScript(buffers, args = ["lmdm.buffer.js", "lmdm.in", "lmdm.out"]) {
  const code = readFileSync(path.join(JS_DIR, "lmdm.buffer.js"), "utf8");
  const sent = [];
  const errors = [];
  const ctx = {
    jsarguments: args,
    Buffer: function Buffer(name) { return buffers.get(name) || new StandInBuffer(0, 1); },
    outlet(n, ...args) { sent.push(args.flat()); if (ctx.onOutlet) ctx.onOutlet(args.flat()); },
    post(...a) { },
    error(...a) { errors.push(a.join(" ")); },
    onOutlet: null,
  };
  vm.createContext(ctx);
  vm.runInContext(code, ctx, { filename: "lmdm.buffer.js" });
  return { ctx, sent, errors };
}

/** Deterministic, never-zero test signal: frame p, channel c. */
export function signal(p, c) {
  const v = 0.05 + 0.9 * (((p * 7919) % 10007) / 10007);
  return c === 0 ? v : -v;
}

/**
 * The patch around lmdm.bridge: [count~] drives [poke~ in] (input) and [index~ out] (what is heard);
 * [metro] -> [snapshot~] -> [v8 lmdm.buffer.js] <-> [node.script lmdm.bridge.js]. Real time, `rate` Hz.
 */
export class SimulatedPatch {
  constructor(bridge, { rate = 44100, ring = 65536, vector = 64, tickMs = 5, start = 0 } = {}) {
    Object.assign(this, { bridge, rate, ring, vector, tickMs });
    this.buffers = new Map([["lmdm.in", new StandInBuffer(ring, 2)], ["lmdm.out", new StandInBuffer(ring, 2)]]);
    this.v8 = loadBufferScript(this.buffers);
    this.clock = start;
    this.start = start;
    this.heard = [new Float32Array(1 << 20), new Float32Array(1 << 20)];   // what [index~] played, from `start`
    this.heardUntil = start;
    this.lateFrames = 0;
    this.v8.ctx.onOutlet = (msg) => {
      if (msg[0] === "late") this.lateFrames += msg[1];
      setImmediate(() => bridge.send(...msg));   // node.script is another process: delivery is asynchronous
    };
    bridge.onOutlet = (msg) => {
      if (msg[0] === "generated") this.v8.ctx.generated(...msg.slice(1));
    };
  }

  /** Audio thread: one vector of input written and output read at the clock. */
  _vector() {
    const inBuf = this.buffers.get("lmdm.in");
    const outBuf = this.buffers.get("lmdm.out");
    for (let i = 0; i < this.vector; i++) {
      const p = this.clock + i;
      const slot = p % this.ring;
      inBuf.data[0][slot] = signal(p, 0);
      inBuf.data[1][slot] = signal(p, 1);
      const k = p - this.start;
      if (k >= this.heard[0].length) this._grow();
      this.heard[0][k] = outBuf.data[0][slot];
      this.heard[1][k] = outBuf.data[1][slot];
    }
    this.clock += this.vector;
    this.heardUntil = this.clock;
  }

  _grow() {
    this.heard = this.heard.map((a) => {
      const b = new Float32Array(a.length * 2);
      b.set(a);
      return b;
    });
  }

  /** Run for `seconds` of audio in real time, or until `stop()` is true. */
  async run(seconds, stop = () => false) {
    const t0 = performance.now();
    const c0 = this.clock;
    const total = Math.ceil((seconds * this.rate) / this.vector) * this.vector;
    while (this.clock - c0 < total && !stop()) {
      const due = c0 + Math.min(total, Math.floor(((performance.now() - t0) / 1000) * this.rate));
      while (this.clock + this.vector <= due) this._vector();
      this.v8.ctx.msg_float(this.clock);     // [metro] -> [snapshot~] -> v8
      await sleep(this.tickMs);
    }
  }

  /** Frame value heard at p, as float32 like buffer~ holds it. */
  expected(p, latency) {
    return [Math.fround(signal(p - latency, 0)), Math.fround(signal(p - latency, 1))];
  }

  /**
   * Check every heard frame in [from, to): it is either the input from `latency` earlier, exactly, or silence;
   * returns the counts. Silence must be accounted for by the `late` reports.
   */
  audit(from, to, latency) {
    let correct = 0;
    let silent = 0;
    let wrongCount = 0;
    const wrong = [];
    for (let p = Math.max(from, this.start); p < Math.min(to, this.heardUntil); p++) {
      const h = [this.heard[0][p - this.start], this.heard[1][p - this.start]];
      const e = this.expected(p, latency);
      if (h[0] === e[0] && h[1] === e[1]) correct++;
      else if (h[0] === 0 && h[1] === 0) silent++;
      else {
        wrongCount++;
        if (wrong.length < 5) wrong.push({ p, heard: h, expected: e });
      }
    }
    return { correct, silent, wrongCount, wrong };
  }
}

/**
 * Run the patch for `seconds` from its current clock, then a little longer so answers still on their way are either
 * placed or reported late, and audit what was heard in the window (skipping the first `latency + 4096` frames).
 * Silence in the window must be accounted for by the bridge's `late_frames` (late answers and skipped requests).
 */
export async function streamAndAudit(bridge, patch, seconds) {
  const latency = bridge.status("latency");
  const from = patch.clock + latency + 4096;
  await patch.run(seconds);
  const to = patch.clock;
  await patch.run(0.5);
  const seen = bridge.outlets.length;
  bridge.send("dump");
  await waitFor(() => bridge.outlets.slice(seen).some((o) => o[1] === "late_frames"), 5000, "status dump");
  const late = bridge.outlets.slice(seen).find((o) => o[1] === "late_frames")[2];
  return { ...patch.audit(from, to, latency), late, frames: to - from };
}

/** Every frame audited was right or silent, at least `minCorrect` right, and every silent one was reported late. */
export function auditPlacement(a, minCorrect) {
  assert.equal(a.wrongCount, 0, `misplaced frames: ${JSON.stringify(a.wrong)}`);
  assert.ok(a.correct >= minCorrect, `only ${a.correct} frames came back right`);
  assert.ok(a.silent <= a.late, `${a.silent} silent frames but only ${a.late} reported late`);
}
