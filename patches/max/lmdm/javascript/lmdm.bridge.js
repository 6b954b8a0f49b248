// lmdm.bridge.js: the [node.script] of the lmdm Max package. It checks what the patch sends, streams the patch's input
// to the worker, asks for output ahead of the patch's clock (pull via `request`) and hands `generated` audio back to
// the patch's [v8 lmdm.buffer.js], which writes it into a buffer~ at the sample position the worker stated.
// Everything else comes out of the left outlet as `status <key> <value>`, `ack <name> <value>` or `error <code> <text>`.
// With `spawn 1` (or `@spawn 1` after the script name) it also starts and owns the worker itself (spawn.js).
"use strict";

const maxApi = require("max-api");
const P = require("./protocol");
const { curveOptions } = require("./curve");
const { Session } = require("./session");
const { Spawner, defaultCommand } = require("./spawn");

const CLIENT = "lmdm-max/0.1.0";
const DEFAULT_ENDPOINT = "tcp://127.0.0.1:5555";
const STATUS_MS = 250;   // status outlet refresh
const WORKER_STATUS_MS = 1000;

const config = {
  endpoint: DEFAULT_ENDPOINT,
  stream: `max-${process.pid}`,
  rate: null,            // from [dspstate~] via `rate <Hz>`
  channels: 2,
  out_channels: 2,
  mode: null,
  block_size: null,      // "long" | "short" (`block_size ...`), null = the worker's default
  lookahead: null,       // frames requested ahead of the clock; null = the worker's latency
  quantum: 256,          // smallest request worth sending
  chunk: 1024,           // frames per `generated` list sent to the patch
  curve: null,           // zeromq.js CURVE options (`curve ...`), null = plain
  spawn: false,          // start and own the worker at a loopback endpoint (`spawn 1`, `@spawn 1`)
  spawncmd: null,        // the worker command's words (`spawncmd ...`), null = spawn.js's default `lmdm serve`
};
const counters = { underruns: 0, late_frames: 0, input_skipped: 0, nonfinite: 0, worker_underruns: 0,
  worker_late_frames: 0, recoveries: 0, gaps: 0, compute_ms: 0 };

let session = null;
let spawner = null;
let wantConnection = false;
let requestedUntil = null;     // end of the furthest request sent in this session
let lastWorkerStatus = 0;
let lastClock = null;          // the patch's clock at its last tick
const shown = new Map();

// --- errors and status --------------------------------------------------------------------------------------------

function postError(text) {
  maxApi.post(`lmdm: ${text}`, maxApi.POST_LEVELS.ERROR);
}

function postInfo(text) {
  maxApi.post(`lmdm: ${text}`, maxApi.POST_LEVELS.INFO);
}

/** Output `status key value` only when the value changed (or `force`). */
function showStatus(force = false) {
  const w = session && session.welcome;
  const values = {
    connected: session && session.open ? 1 : 0,
    curve: config.curve ? 1 : 0,
    latency: w ? w.latency : 0,
    block_size: w && w.block_size ? w.block_size : "",
    block: w ? w.block : 0,
    underruns: counters.underruns,
    late_frames: counters.late_frames,
    worker_underruns: counters.worker_underruns,
    worker_late_frames: counters.worker_late_frames,
    recoveries: counters.recoveries,
    gaps: counters.gaps,
    compute_ms: Math.round(counters.compute_ms * 10) / 10,
    rtt_ms: session ? Math.round(session.stats.rtt_ms) : 0,
    input_skipped: counters.input_skipped,
    nonfinite: counters.nonfinite,
    dropped: session ? session.stats.dropped : 0,
    reconnects: session ? session.stats.reconnects : 0,
  };
  if (spawner) {
    values.spawn_pid = spawner.pid;
    values.spawn_starts = spawner.starts;
  }
  for (const [key, value] of Object.entries(values)) {
    if (force || shown.get(key) !== value) {
      shown.set(key, value);
      maxApi.outlet("status", key, value);
    }
  }
}

// --- argument checks ----------------------------------------------------------------------------------------------

class PatchError extends Error {}

function int(value, what, lo, hi) {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new PatchError(`${what} must be a number, got ${JSON.stringify(value)}`);
  }
  const n = Math.floor(value);
  if (n < lo || n > hi) throw new PatchError(`${what} must be in ${lo}..${hi}, got ${value}`);
  return n;
}

function endpointFrom(args) {
  if (args.length === 0) return config.endpoint;
  if (args.length === 1 && String(args[0]).startsWith("#")) return DEFAULT_ENDPOINT;  // abstraction without argument
  if (args.length === 1 && typeof args[0] === "number") {
    if (args[0] === 0) return DEFAULT_ENDPOINT;   // [lmdm.bridge] without an argument sends `connect 0`
    return `tcp://127.0.0.1:${int(args[0], "port", 1, 65535)}`;
  }
  if (args.length === 1 && /^(tcp|ipc):\/\/\S+$/.test(String(args[0]))) return String(args[0]);
  if (args.length === 2 && typeof args[0] === "string") {
    return `tcp://${args[0]}:${int(args[1], "port", 1, 65535)}`;
  }
  throw new PatchError("connect takes nothing, a port, `host port` or an endpoint such as tcp://127.0.0.1:5555");
}

// --- the session --------------------------------------------------------------------------------------------------

function makeHello() {
  return P.hello({ stream: config.stream, rate: config.rate, channels: config.channels,
    out_channels: config.out_channels, client: CLIENT, mode: config.mode, block_size: config.block_size });
}

function openSession() {
  if (session) session.stop();
  requestedUntil = null;
  session = new Session({ endpoint: config.endpoint, makeHello, curve: config.curve });
  session.on("refused", (text) => maxApi.outlet("error", "auth", text));
  session.on("log", (level, text) => (level === "error" ? postError(text) : postInfo(text)));
  session.on("welcome", (w) => {
    requestedUntil = null;
    const sizes = w.model && Array.isArray(w.model.block_sizes) ? w.model.block_sizes.join(" ") : "?";
    postInfo(`connected to ${config.endpoint}: model ${w.model ? w.model.name : "?"}, mode ${w.mode}, ` +
      `latency ${w.latency} samples (${(1000 * w.latency / w.rate).toFixed(1)} ms), block ${w.block}, ` +
      `block_size ${w.block_size || "?"} (model streams ${sizes})`);
    showStatus(true);
  });
  session.on("resumed", (w) => {
    config.block_size = w.block_size || null;   // what the session that streams on runs at, for later hellos too
    postError(`the stream goes on as it was (block_size ${w.block_size || "default"})`);
    showStatus();
  });
  session.on("down", () => showStatus());
  session.on("message", onWorkerMessage);
  session.start();
}

function onWorkerMessage(msg) {
  switch (msg.type) {
    case "generated":
      return sendGenerated(msg);
    case "status":
      counters.worker_underruns = msg.underruns;
      counters.worker_late_frames = msg.late_frames || 0;
      counters.recoveries = msg.recoveries || 0;
      counters.gaps = msg.gaps;
      counters.compute_ms = typeof msg.compute_ms === "number" ? msg.compute_ms : 0;
      return undefined;
    case "ack":
      maxApi.outlet("ack", msg.name, atom(msg.value));
      if (Array.isArray(msg.understood)) maxApi.outlet("understood", msg.name, ...msg.understood.map(atom));
      return undefined;
    case "error":
      postError(`the worker refused ${msg.ref || "a message"} (${msg.code}): ${msg.text}`);
      return maxApi.outlet("error", msg.code, msg.text);
    default:
      return undefined;
  }
}

/** A worker value as one Max atom: numbers and strings as they are, booleans as 0/1, anything else as JSON. */
function atom(value) {
  if (typeof value === "number" || typeof value === "string") return value;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (value === null || value === undefined) return "";
  return JSON.stringify(value);
}

/** Worker audio -> `generated <index> <channels> <samples...>` lists of at most config.chunk frames. */
function sendGenerated(msg) {
  if (msg.rate !== config.rate) {
    postError(`generated audio at ${msg.rate} Hz while the patch runs at ${config.rate} Hz; dropped`);
    return;
  }
  const samples = P.fromFloat32LE(msg.data);
  for (let f = 0; f < msg.frames; f += config.chunk) {
    const n = Math.min(config.chunk, msg.frames - f);
    const part = Array.from(samples.subarray(f * msg.channels, (f + n) * msg.channels));
    maxApi.outlet("generated", msg.index + f, msg.channels, ...part);
  }
}

/** Ask for output up to `clock + lookahead`; a request that would start in the past skips ahead. */
function requestAhead(clock) {
  const w = session.welcome;
  const lookahead = config.lookahead !== null ? config.lookahead : Math.max(w.latency, config.quantum);
  const target = clock + lookahead;
  if (requestedUntil !== null && requestedUntil < clock) {
    // we fell behind the clock: what was never requested is never played; count it as an underrun
    counters.late_frames += clock - requestedUntil;
    counters.underruns++;
  }
  if (requestedUntil === null || requestedUntil < clock) requestedUntil = clock;
  if (target - requestedUntil < config.quantum) return;
  while (requestedUntil < target) {
    const frames = Math.min(target - requestedUntil, P.MAX_FRAMES);
    session.send(P.request(requestedUntil, frames, clock));
    requestedUntil += frames;
  }
}

// --- the worker this script starts (spawn.js) ----------------------------------------------------------------------

/** Own a worker for config.endpoint (a new one when the endpoint changed); a remote endpoint is refused with an
 * error on the console (the connection itself goes ahead). */
function ensureSpawner() {
  if (spawner && spawner.endpoint === config.endpoint) return;
  stopSpawner();
  try {
    spawner = new Spawner(config.endpoint, config.spawncmd);
  } catch (e) {
    postError(e.message);
    return;
  }
  spawner.on("log", (level, text) => (level === "error" ? postError(text) : postInfo(text)));
  spawner.on("change", () => showStatus());
  spawner.run();
}

function stopSpawner() {
  if (!spawner) return Promise.resolve();
  const s = spawner;
  spawner = null;
  return s.stop();
}

// --- messages from the patch --------------------------------------------------------------------------------------

const handlers = {
  connect(...args) {
    config.endpoint = endpointFrom(args);
    wantConnection = true;
    if (config.spawn) ensureSpawner();
    if (config.rate === null) {
      postInfo("waiting for the sample rate (`rate <Hz>`; the abstraction sends it when audio is on)");
      return;
    }
    openSession();
  },

  /** `curve <server public> <client public> <client secret>`, `curve <client folder>`, `curve` (off). */
  curve(...args) {
    try {
      config.curve = curveOptions(args);
    } catch (e) {
      throw new PatchError(e.message);
    }
    showStatus();
    if (wantConnection && config.rate !== null) openSession();   // the new keys take a new connection
  },

  disconnect() {
    wantConnection = false;
    if (session) session.stop().then(() => showStatus());
  },

  rate(hz) {
    const rate = int(hz, "rate", 1, 1e6);
    if (!P.RATES.includes(rate)) {
      throw new PatchError(`the worker takes sample rates ${P.RATES.join(", ")}; Max runs at ${hz} Hz`);
    }
    const changed = rate !== config.rate;
    config.rate = rate;
    if (wantConnection && (changed || !session)) openSession();
  },

  channels(inCh, outCh = inCh) {
    config.channels = int(inCh, "input channels", 1, P.MAX_CHANNELS);
    config.out_channels = int(outCh, "output channels", 1, P.MAX_CHANNELS);
    if (session) session.reconnect("channel count changed");
  },

  stream(id) {
    if (!P.STREAM_ID.test(String(id))) throw new PatchError("stream ids are 1..64 characters of A-Z a-z 0-9 _ -");
    config.stream = String(id);
    if (session) session.reconnect("stream id changed");
  },

  mode(name) {
    if (typeof name !== "string") throw new PatchError("mode takes a name (text, delay, jam, sketch)");
    config.mode = name;
    if (session && session.open) session.send(P.param("mode", name));
  },

  /** `block_size long|short`: the worker takes it in hello only, so the session says hello again; the new welcome's
   * latency and block apply from then on, and later (re)connections use it too. */
  block_size(name) {
    if (!P.BLOCK_SIZES.includes(name)) {
      throw new PatchError(`block_size is long or short (short: lower latency, for a model trained for it), ` +
        `not ${JSON.stringify(name)}`);
    }
    config.block_size = name;
    if (session) session.rehello(`block_size ${name}`);
  },

  audio(index, channels, ...samples) {
    const start = int(index, "audio index", 0, Number.MAX_SAFE_INTEGER);
    const ch = int(channels, "audio channels", 1, P.MAX_CHANNELS);
    if (ch !== config.channels) throw new PatchError(`audio has ${ch} channels, the session has ${config.channels}`);
    if (samples.length === 0 || samples.length % ch !== 0) {
      throw new PatchError(`audio needs a whole number of ${ch}-channel frames, got ${samples.length} samples`);
    }
    if (samples.length / ch > P.MAX_FRAMES) throw new PatchError(`audio over ${P.MAX_FRAMES} frames in one message`);
    let bad = 0;
    for (let i = 0; i < samples.length; i++) {
      if (typeof samples[i] !== "number" || !Number.isFinite(samples[i])) {
        samples[i] = 0;
        bad++;
      }
    }
    if (bad > 0) {
      if (counters.nonfinite === 0) postError(`audio at ${start}: ${bad} samples were not finite numbers; sent as 0`);
      counters.nonfinite += bad;
    }
    if (session && session.open) session.send(P.audio(start, ch, config.rate, samples, lastClock));
  },

  clock(position) {
    const c = int(position, "clock", 0, Number.MAX_SAFE_INTEGER);
    lastClock = c;
    if (session && session.open) requestAhead(c);
    if (session && session.open && performance.now() - lastWorkerStatus > WORKER_STATUS_MS) {
      lastWorkerStatus = performance.now();
      session.send(P.status());
    }
  },

  late(frames) {
    counters.late_frames += int(frames, "late frames", 0, Number.MAX_SAFE_INTEGER);
    counters.underruns++;
  },

  skipped(frames) {
    counters.input_skipped += int(frames, "skipped frames", 0, Number.MAX_SAFE_INTEGER);
  },

  param(name, ...value) {
    if (typeof name !== "string" || value.length === 0) {
      throw new PatchError("param takes a name and a value, e.g. `param prompt warm analog pads` or `param cfg 2`");
    }
    const v = value.length === 1 ? value[0] : value.join(" ");
    if (!session || !session.open) throw new PatchError(`param ${name}: not connected to the worker yet`);
    session.send(P.param(name, v));
  },

  /** "This is a downbeat": tells the worker the bar grid (`param bar <clock>`), for jam and bar-aligned modes. */
  downbeat() {
    if (lastClock === null) throw new PatchError("downbeat: the clock has not started (is audio on?)");
    if (!session || !session.open) throw new PatchError("downbeat: not connected to the worker yet");
    session.send(P.param("bar", lastClock));
  },

  reset() {
    if (!session || !session.open) throw new PatchError("reset: not connected to the worker yet");
    session.send(P.reset());
    requestedUntil = null;
  },

  /** From lmdm.buffer.js: the patch's clock started over (audio switched off and on). */
  restart() {
    requestedUntil = null;
    if (session && session.open) session.send(P.reset());
  },

  status() {
    if (session && session.open) session.send(P.status());
    showStatus(true);
  },

  lookahead(frames) {
    config.lookahead = int(frames, "lookahead", 1, P.MAX_FRAMES);
  },

  chunk(frames) {
    config.chunk = int(frames, "chunk", 16, 8192);
  },

  dump() {
    showStatus(true);
  },

  /** `spawn`: start the worker now (or say it runs); `spawn 1`: own a worker from now on; `spawn 0`: stop it. */
  spawn(on) {
    if (on === 0) {
      config.spawn = false;
      stopSpawner().then(() => showStatus(true));
      return;
    }
    if (on !== undefined && on !== 1) throw new PatchError("spawn takes nothing (start now), 1 (on) or 0 (off)");
    config.spawn = true;
    if (spawner && spawner.pid) postInfo(`spawn: worker pid ${spawner.pid} runs for ${config.endpoint}`);
    else if (spawner) spawner.kick();
    else ensureSpawner();
  },

  /** `spawncmd /path/to/lmdm serve --model loopback`: the worker command of the next start (`--zmq ENDPOINT
   * --exit-with-parent` are appended); `spawncmd` alone: back to the default. */
  spawncmd(...words) {
    config.spawncmd = words.length ? words.map(String) : null;
    if (spawner) {
      spawner.command = config.spawncmd || defaultCommand();
      postInfo(`spawncmd: the next start of the worker for ${spawner.endpoint} uses it`);
    }
  },
};

for (const [name, fn] of Object.entries(handlers)) {
  maxApi.addHandler(name, (...args) => {
    try {
      fn(...args);
    } catch (e) {
      if (e instanceof PatchError) postError(e.message);
      else postError(`${name}: ${e.stack || e}`);
    }
  });
}

maxApi.addHandler(maxApi.MESSAGE_TYPES.ALL, (handled, selector) => {
  if (!handled) postError(`unknown message ${JSON.stringify(selector)}; known: ${Object.keys(handlers).join(", ")}`);
});

// A node.script that dies takes the patch's sound with it: report, keep running.
process.on("unhandledRejection", (e) => postError(`internal: ${e && e.stack ? e.stack : e}`));
process.on("uncaughtException", (e) => postError(`internal: ${e && e.stack ? e.stack : e}`));

// `node.script lmdm.bridge.js @spawn 1`: the words after the script name reach Node as its arguments.
const argvSpawn = process.argv.indexOf("@spawn");
if (argvSpawn >= 0 && process.argv[argvSpawn + 1] !== "0") config.spawn = true;

setInterval(() => showStatus(), STATUS_MS);
maxApi.outlet("ready");   // the abstraction answers with `rate` and `connect`
postInfo(`bridge ready (${CLIENT}, protocol v${P.VERSION}); send \`connect\``);
