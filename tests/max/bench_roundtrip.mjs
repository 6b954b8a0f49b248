// Measures the Max bridge's round trip: from the moment the v8 script sends a chunk of input to the moment the
// first output that depends on it (loopback: L samples later) is back in the v8 script, ready to be poked into the
// buffer~. Same path as in Max except the Max <-> node.script pipe (here: a JSON-lines pipe to a Node process).
//   node tests/max/bench_roundtrip.mjs [seconds] [block]      (uses .venv/bin/lmdm, or $LMDM_BIN)
import { readFileSync } from "node:fs";
import { SimulatedPatch, freePort, startBridge, startWorker, waitFor } from "./harness.mjs";

/** CPU seconds (user + system) a process has used so far (Linux /proc; null elsewhere). */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;   // clock ticks; 100 Hz on Linux
  } catch {
    return null;
  }
}

const seconds = Number(process.argv[2] || 5);
const block = Number(process.argv[3] || 2048);
const port = await freePort();
const worker = await startWorker({ port, block });
const bridge = startBridge();
bridge.send("connect", port);
bridge.send("rate", 44100);
await waitFor(() => bridge.status("connected") === 1, 10000, "welcome");
const latency = bridge.status("latency");
const patch = new SimulatedPatch(bridge, { rate: 44100 });

const sentAt = [];                 // [last input frame + latency, time]
const rtts = [];
const toBridge = patch.v8.ctx.onOutlet;
patch.v8.ctx.onOutlet = (msg) => {
  if (msg[0] === "audio") sentAt.push([msg[1] + (msg.length - 3) / msg[2] - 1 + latency, performance.now()]);
  toBridge(msg);
};
const toV8 = bridge.onOutlet;
bridge.onOutlet = (msg) => {
  if (msg[0] === "generated") {
    const end = msg[1] + (msg.length - 3) / msg[2];
    while (sentAt.length && sentAt[0][0] < end) rtts.push(performance.now() - sentAt.shift()[1]);
  }
  toV8(msg);
};
const cpu0 = cpuSeconds(bridge.proc.pid);
await patch.run(seconds);
const cpu1 = cpuSeconds(bridge.proc.pid);
rtts.sort((a, b) => a - b);
const q = (p) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))].toFixed(2);
console.log(JSON.stringify({
  seconds, rate: 44100, latency_samples: latency, latency_ms: +(1000 * latency / 44100).toFixed(1),
  chunks: rtts.length, roundtrip_ms: { median: +q(0.5), p90: +q(0.9), p99: +q(0.99), max: +q(1) },
  late_frames: patch.lateFrames, underruns: bridge.status("underruns"),
  bridge_cpu_percent: cpu0 === null ? null : +((100 * (cpu1 - cpu0)) / seconds).toFixed(1),
}));
await bridge.stop();
await worker.stop();
