// The lmdm wire protocol, version 1 (docs/protocol.md), for JavaScript: the one place it is defined in this language.
// Field names are those of the doc. Builders return plain maps; `encode` makes the single msgpack frame a DEALER sends,
// `decode` checks a worker frame and returns the map, or throws ProtocolError.
"use strict";

const { encode: mpEncode, decode: mpDecode } = require("@msgpack/msgpack");

const VERSION = 1;
const MAX_PAYLOAD = 4 * 1024 * 1024;
const MAX_FRAMES = 65536;
const MAX_CHANNELS = 8;
const RATES = [22050, 32000, 44100, 48000, 88200, 96000];
const STREAM_ID = /^[A-Za-z0-9_-]{1,64}$/;
const BLOCK_SIZES = ["long", "short"];   // hello.block_size: short blocks answer sooner, for a model trained for them
const ERROR_CODES = ["bad_msgpack", "version", "unknown_type", "bad_field", "too_large", "bad_audio", "rate",
  "no_session", "bad_request", "bad_param", "taken_over", "internal"];

// Fields each worker -> client message must carry, with their msgpack kinds.
const WORKER_MESSAGES = {
  welcome: { stream: "string", rate: "int", channels: "int", out_channels: "int", block: "int", latency: "int",
    max_frames: "int", heartbeat_ms: "int" },
  generated: { index: "int", frames: "int", channels: "int", rate: "int", data: "bin" },
  status: { underruns: "int", gaps: "int", latency: "int" },
  ack: { name: "string" },
  error: { code: "string", text: "string" },
  pong: { t: "number" },
  bye: {},
};

class ProtocolError extends Error {
  constructor(code, text, ref) {
    super(text);
    this.code = code;
    this.ref = ref === undefined ? null : ref;
  }
}

// --- client -> worker ---------------------------------------------------------------------------------------------

// `mode`, `block_size`: left out when not given, so the worker's defaults apply.
function hello({ stream, rate, channels, out_channels, client, mode, block_size }) {
  const msg = { v: VERSION, type: "hello", stream, rate, channels, out_channels, client };
  if (mode) msg.mode = mode;
  if (block_size) msg.block_size = block_size;
  return msg;
}

// `play` (optional, in audio and request): the clock position the patch plays now; the worker judges lateness by it.
const withPlay = (msg, play) => (Number.isInteger(play) && play >= 0 ? { ...msg, play } : msg);

/** Input audio: `samples` is interleaved (frame 0 ch 0, frame 0 ch 1, ...), any array-like of numbers. */
function audio(index, channels, rate, samples, play) {
  const frames = samples.length / channels;
  return withPlay({ v: VERSION, type: "audio", index, frames, channels, rate, data: toFloat32LE(samples) }, play);
}

const request = (index, frames, play) => withPlay({ v: VERSION, type: "request", index, frames }, play);
const param = (name, value) => ({ v: VERSION, type: "param", name, value });
const reset = () => ({ v: VERSION, type: "reset" });
// `status("*")`: the worker-wide status (docs/protocol.md: `uptime_s`, `rss_mib`, `streams`, `sessions`, `osc_map`
// besides the summed counters); the bridge asks its own stream's (no argument).
const status = (stream) => (stream === undefined ? { v: VERSION, type: "status" }
  : { v: VERSION, type: "status", stream });
// `t` must travel as a msgpack float: nudge a whole number off the integer grid.
const ping = (t) => ({ v: VERSION, type: "ping", t: Number.isInteger(t) ? t + 1e-6 : t });
const bye = () => ({ v: VERSION, type: "bye" });

// --- audio payloads -----------------------------------------------------------------------------------------------

/** Interleaved samples -> little-endian float32 bytes (msgpack bin). */
function toFloat32LE(samples) {
  const bytes = new Uint8Array(samples.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) view.setFloat32(i * 4, samples[i], true);
  return bytes;
}

/** Little-endian float32 bytes -> Float32Array (interleaved). */
function fromFloat32LE(bytes) {
  const n = bytes.length >> 2;
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

// --- framing ------------------------------------------------------------------------------------------------------

function encode(msg) {
  return mpEncode(msg);
}

function kindOf(value) {
  if (typeof value === "string") return "string";
  if (typeof value === "bigint") return "int";
  if (typeof value === "number") return Number.isInteger(value) ? "int" : "number";
  if (value instanceof Uint8Array) return "bin";
  return typeof value;
}

/** A worker frame -> message map. Throws ProtocolError with the doc's codes for anything malformed. */
function decode(frame) {
  if (frame.length > MAX_PAYLOAD + 1024) throw new ProtocolError("too_large", `frame of ${frame.length} bytes`);
  let msg;
  try {
    msg = mpDecode(frame, { useBigInt64: false });
  } catch (e) {
    throw new ProtocolError("bad_msgpack", `frame is not msgpack: ${e.message}`);
  }
  if (msg === null || typeof msg !== "object" || Array.isArray(msg) || msg instanceof Uint8Array) {
    throw new ProtocolError("bad_msgpack", "frame is not a msgpack map");
  }
  if (msg.v !== VERSION) throw new ProtocolError("version", `protocol version ${msg.v}, expected ${VERSION}`);
  const fields = WORKER_MESSAGES[msg.type];
  if (!fields) throw new ProtocolError("unknown_type", `unknown message type ${JSON.stringify(msg.type)}`);
  for (const [name, kind] of Object.entries(fields)) {
    const got = kindOf(msg[name]);
    const ok = got === kind || (kind === "number" && got === "int");
    if (!ok) throw new ProtocolError("bad_field", `${msg.type}.${name} should be ${kind}, got ${got}`, msg.type);
  }
  if (msg.type === "generated" && msg.data.length !== msg.frames * msg.channels * 4) {
    throw new ProtocolError("bad_audio",
      `generated: ${msg.data.length} bytes for ${msg.frames} frames x ${msg.channels} channels`, "generated");
  }
  return msg;
}

module.exports = {
  VERSION, MAX_PAYLOAD, MAX_FRAMES, MAX_CHANNELS, RATES, STREAM_ID, BLOCK_SIZES, ERROR_CODES, WORKER_MESSAGES, ProtocolError,
  hello, audio, request, param, reset, status, ping, bye, toFloat32LE, fromFloat32LE, encode, decode,
};
