// The Max bridge's `block_size` against real workers: the loopback streams long and short blocks (short = a quarter),
// so the input must come back exactly at each latency; a model trained for one block size (the checkpoint in
// $LMDM_LONG_ONLY, written by test_max_js.py) refuses `short`, and the bridge says so and keeps its session.
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  SimulatedPatch, auditPlacement, freePort, startBridge, startWorker, streamAndAudit, useWorker, waitFor,
} from "./harness.mjs";

const RATE = 44100;
const BLOCK = 8192;   // short: 2048 frames (46 ms) of margin on a shared, loaded machine
const SHORT = BLOCK / 4;

const shared = useWorker({ block: BLOCK });

async function connect(bridge, port) {
  bridge.send("connect", port);
  bridge.send("rate", RATE);
  await waitFor(() => bridge.status("connected") === 1, 60000, "status connected 1");
}

test("block_size short then long: the bridge says hello again and audio comes back at each latency", async (t) => {
  const bridge = startBridge();
  try {
    bridge.send("block_size", "short");   // before connect: goes into the first hello
    await connect(bridge, shared.port);
    assert.equal(bridge.status("block_size"), "short");
    assert.equal(bridge.status("latency"), SHORT);
    assert.ok(bridge.posts.some((p) => /block_size short \(model streams long short\)/.test(p.post)), "console");
    const patch = new SimulatedPatch(bridge, { rate: RATE });
    let a = await streamAndAudit(bridge, patch, 1.5);
    t.diagnostic(`short: ${a.correct} right, ${a.silent} silent, ${a.late} reported late`);
    auditPlacement(a, SHORT);

    bridge.send("block_size", "long");
    await patch.run(10, () => bridge.status("latency") === BLOCK);
    assert.equal(bridge.status("latency"), BLOCK, "the new welcome's latency applies");
    assert.equal(bridge.status("block_size"), "long");
    a = await streamAndAudit(bridge, patch, 1.5);
    t.diagnostic(`long: ${a.correct} right, ${a.silent} silent, ${a.late} reported late`);
    auditPlacement(a, BLOCK);
    assert.equal(bridge.status("reconnects"), 0, "a re-hello on the same connection is not a reconnection");

    const before = bridge.errors().length;
    bridge.send("block_size", "medium");
    await waitFor(() => bridge.errors().length > before, 5000, "an error for block_size medium");
    assert.match(bridge.errors().slice(before).join("\n"), /block_size is long or short/);
    assert.equal(bridge.status("block_size"), "long");
  } finally {
    await bridge.stop();
  }
});

test("a block size the model lacks is refused: reported, and the session goes on", async () => {
  const checkpoint = process.env.LMDM_LONG_ONLY;
  assert.ok(checkpoint, "LMDM_LONG_ONLY (a long-only checkpoint) is set by tests/max/test_max_js.py");
  const port = await freePort();
  const worker = await startWorker({ port, model: checkpoint, extra: ["--margin-ms", "20"], listenMs: 180000 });
  const bridge = startBridge();
  try {
    bridge.send("block_size", "short");
    bridge.send("connect", port);
    bridge.send("rate", RATE);
    await waitFor(() => bridge.errors().some((e) => /not connected: send `block_size long`/.test(e)), 60000,
      "what to do after the refusal");
    assert.ok(bridge.outlets.some((o) => o[0] === "error" && o[1] === "bad_field"), "error outlet bad_field");
    assert.match(bridge.errors().join("\n"), /refused hello \(bad_field\).*block_size.*'short'/);
    await new Promise((r) => setTimeout(r, 2000));   // longer than the welcome timeout: no retry loop
    assert.equal(bridge.errors().filter((e) => /refused hello/.test(e)).length, 1, bridge.errors().join("\n"));
    assert.notEqual(bridge.status("connected"), 1);

    bridge.send("block_size", "long");
    await waitFor(() => bridge.status("connected") === 1, 60000, "welcome after block_size long");
    assert.equal(bridge.status("block_size"), "long");
    const patch = new SimulatedPatch(bridge, { rate: RATE });
    await patch.run(0.5);
    bridge.send("block_size", "short");   // refused again, on a live session this time: it streams on
    await waitFor(() => bridge.errors().some((e) => /goes on as it was \(block_size long\)/.test(e)), 30000,
      "the session streams on");
    await patch.run(1.0);
    assert.equal(bridge.status("connected"), 1);
    assert.equal(bridge.status("block_size"), "long");
    assert.equal(bridge.exited, false, bridge.stderr);
  } finally {
    await bridge.stop();
    await worker.stop();
  }
});
