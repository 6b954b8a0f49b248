// The Max bridge end to end: lmdm.buffer.js (in a vm) <-> lmdm.bridge.js (own Node process, max-api stand-in)
// <-> a real `lmdm serve --model loopback` worker. The loopback plays input back `latency` samples later, exactly.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { SimulatedPatch, freePort, sleep, startBridge, startWorker, waitFor } from "./harness.mjs";

const RATE = 44100;
const BLOCK = 2048;

let worker;
let port;

before(async () => {
  port = await freePort();
  worker = await startWorker({ port, block: BLOCK });
});

after(async () => {
  if (worker) await worker.stop();
});

/** Connect a fresh bridge to the worker and wait for the welcome. */
async function connectedBridge() {
  const bridge = startBridge();
  bridge.send("connect", port);
  bridge.send("rate", RATE);
  await waitFor(() => bridge.status("connected") === 1, 10000, "status connected 1");
  return bridge;
}

test("input streams to the worker and comes back at the sample positions it stated", async (t) => {
  const bridge = await connectedBridge();
  try {
    const latency = bridge.status("latency");
    assert.equal(typeof latency, "number");
    assert.ok(latency > 0, `latency ${latency}`);
    const patch = new SimulatedPatch(bridge, { rate: RATE, start: 12345 });
    const c0 = patch.clock;
    await patch.run(1.5);
    const end = patch.clock;
    // let the answers that are still on their way arrive, then play a little more so they are heard
    await patch.run(0.3);
    const from = c0 + latency + 4096;
    const to = end;
    const a = patch.audit(from, to, latency);
    t.diagnostic(`frames ${to - from}: ${a.correct} right, ${a.silent} silent, ${patch.lateFrames} reported late`);
    assert.equal(a.wrongCount, 0, `misplaced frames: ${JSON.stringify(a.wrong)}`);
    assert.ok(a.correct >= BLOCK, `only ${a.correct} frames came back right`);
    assert.ok(a.silent <= patch.lateFrames, `${a.silent} silent frames but only ${patch.lateFrames} reported late`);
    assert.deepEqual(bridge.errors(), []);
  } finally {
    await bridge.stop();
  }
});
