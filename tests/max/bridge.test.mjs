// The Max bridge end to end: lmdm.buffer.js (in a vm) <-> lmdm.bridge.js (own Node process, max-api stand-in)
// <-> a real `lmdm serve --model loopback` worker. The loopback plays input back `latency` samples later, exactly.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SimulatedPatch, auditPlacement, freePort, startBridge, startWorker, streamAndAudit, useWorker, waitFor }
  from "./harness.mjs";

const RATE = 44100;
const BLOCK = 8192;   // ~186 ms of margin: the test machine is shared and often loaded

const shared = useWorker({ block: BLOCK });

const assertPlacement = (a) => auditPlacement(a, BLOCK);

/** Connect a fresh bridge to the worker and wait for the welcome. */
async function connectedBridge() {
  const bridge = startBridge();
  bridge.send("connect", shared.port);
  bridge.send("rate", RATE);
  await waitFor(() => bridge.status("connected") === 1, 10000, "status connected 1");
  // the welcome's status lines (connected, then latency, block...) can reach the harness in separate reads
  await waitFor(() => bridge.status("block") !== undefined, 2000, "the welcome's status lines");
  return bridge;
}

test("input streams to the worker and comes back at the sample positions it stated", async (t) => {
  const bridge = await connectedBridge();
  try {
    const latency = bridge.status("latency");
    assert.equal(typeof latency, "number");
    assert.ok(latency > 0, `latency ${latency}`);
    const patch = new SimulatedPatch(bridge, { rate: RATE, start: 12345 });
    const a = await streamAndAudit(bridge, patch, 1.5);
    t.diagnostic(`frames ${a.frames}: ${a.correct} right, ${a.silent} silent, ${a.late} reported late`);
    assertPlacement(a);
    assert.deepEqual(bridge.errors(), []);
  } finally {
    await bridge.stop();
  }
});

test("bad messages from the patch give clear errors, and the stream goes on", async (t) => {
  const bridge = await connectedBridge();
  try {
    assert.ok(bridge.outlets.some((o) => o[0] === "ready"), "the script says `ready` when it starts");
    bridge.send("downbeat");
    await waitFor(() => bridge.errors().length > 0, 5000, "an error for a downbeat before the clock runs");
    assert.match(bridge.errors()[0], /downbeat: the clock has not started/);
    const patch = new SimulatedPatch(bridge, { rate: RATE });
    await patch.run(0.3);
    const bad = [
      [["bogus", 1], /unknown message "bogus"/],
      [["audio", 100, 2, null, 0.5], /not finite numbers/],
      [["audio", -5, 2, 0.1, 0.2], /audio index must be in 0\.\./],
      [["audio", 0, 3, 0.1, 0.2, 0.3], /audio has 3 channels, the session has 2/],
      [["audio", 0, 2, 0.1], /whole number of 2-channel frames/],
      [["clock", "abc"], /clock must be a number/],
      [["rate", 12345], /sample rates 22050, 32000, 44100/],
      [["param"], /param takes a name and a value/],
      [["connect", "not an endpoint"], /connect takes nothing, a port/],
      [["lookahead", 0], /lookahead must be in 1\.\./],
      [["stream", "bad id!"], /stream ids are 1\.\.64 characters/],
      [["param", "no_such_param", 1], /the worker refused param \(bad_param\)/],
    ];
    for (const [msg, expected] of bad) {
      const before = bridge.errors().length;
      bridge.send(...msg);
      await waitFor(() => bridge.errors().length > before, 5000, `an error for ${JSON.stringify(msg)}`);
      assert.match(bridge.errors().slice(before).join("\n"), expected, JSON.stringify(msg));
    }
    assert.ok(bridge.outlets.some((o) => o[0] === "error" && o[1] === "bad_param"), "error outlet for bad_param");

    // the v8 side refuses malformed input without throwing
    const v8errors = patch.v8.errors.length;
    patch.v8.ctx.generated("x");
    patch.v8.ctx.generated(10, 2, 0.5);
    assert.equal(patch.v8.errors.length, v8errors + 2);

    // good parameters are acknowledged; `downbeat` sends the clock position as `bar`
    bridge.send("param", "gain", 1);
    await waitFor(() => bridge.outlets.some((o) => o[0] === "ack" && o[1] === "gain"), 5000, "ack gain");
    bridge.send("param", "prompt", "warm", "analog", "pads");
    await waitFor(() => bridge.outlets.some((o) => o[0] === "ack" && o[1] === "prompt"), 5000, "ack prompt");
    assert.equal(bridge.outlets.find((o) => o[0] === "ack" && o[1] === "prompt")[2], "warm analog pads");
    const clockBefore = patch.clock;
    bridge.send("downbeat");
    await waitFor(() => bridge.outlets.some((o) => o[0] === "ack" && o[1] === "bar"), 5000, "ack bar");
    const bar = bridge.outlets.find((o) => o[0] === "ack" && o[1] === "bar")[2];
    assert.ok(bar > 0 && bar <= clockBefore, `bar ${bar} is a clock position the patch has reached (${clockBefore})`);
    const a = await streamAndAudit(bridge, patch, 1.0);
    t.diagnostic(`after the bad messages: ${a.correct} right, ${a.silent} silent, ${a.late} reported late`);
    assertPlacement(a);
    assert.equal(bridge.exited, false, `the bridge process died: ${bridge.stderr}`);
    assert.equal(bridge.status("connected"), 1);
  } finally {
    await bridge.stop();
  }
});

test("a worker restart is survived: the bridge says hello again and audio resumes in place", async (t) => {
  const restartPort = await freePort();
  let w = await startWorker({ port: restartPort, block: BLOCK, heartbeatMs: 250 });
  const bridge = startBridge();
  try {
    bridge.send("connect", restartPort);
    bridge.send("rate", RATE);
    await waitFor(() => bridge.status("connected") === 1, 10000, "first welcome");
    const patch = new SimulatedPatch(bridge, { rate: RATE });
    await patch.run(0.5);

    for (const signal of ["SIGTERM", "SIGKILL"]) {
      await w.stop(signal);
      await patch.run(10, () => bridge.status("connected") === 0);
      assert.equal(bridge.status("connected"), 0, `the bridge noticed the ${signal}`);
      await patch.run(0.3);                     // the patch's clock keeps running while the worker is gone
      w = await startWorker({ port: restartPort, block: BLOCK, heartbeatMs: 250 });
      await patch.run(15, () => bridge.status("connected") === 1);
      assert.equal(bridge.status("connected"), 1, `reconnected after ${signal}`);
      const a = await streamAndAudit(bridge, patch, 1.0);
      t.diagnostic(`after ${signal}: ${a.correct} right, ${a.silent} silent, ${a.late} reported late`);
      assertPlacement(a);
    }
    assert.equal(bridge.status("reconnects"), 2, "one reconnection per restart");
    assert.equal(bridge.exited, false, bridge.stderr);
  } finally {
    await bridge.stop();
    await w.stop();
  }
});

test("two bridges with one stream id: the second takes it over, the first stops and says so", async () => {
  const start = (b) => {
    b.send("stream", "twin");
    b.send("connect", shared.port);
    b.send("rate", RATE);
  };
  const first = startBridge();
  const second = startBridge();
  try {
    start(first);
    await waitFor(() => first.status("connected") === 1, 10000, "first welcome");
    start(second);
    await waitFor(() => second.status("connected") === 1, 10000, "second welcome");
    await waitFor(() => first.status("connected") === 0, 5000, "the first bridge stopped");
    await new Promise((r) => setTimeout(r, 1500));   // and stays stopped: no tug of war over the stream
    assert.equal(first.status("connected"), 0);
    assert.equal(second.status("connected"), 1);
    assert.match(first.errors().join("\n"), /taken over/);
    assert.deepEqual(second.errors(), []);
  } finally {
    await first.stop();
    await second.stop();
  }
});
