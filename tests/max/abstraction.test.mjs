// [lmdm.bridge] as saved: its .maxpat run by a minimal interpreter of the Max objects it holds (patcher.mjs), with the
// real lmdm.buffer.js and lmdm.bridge.js, against a real `lmdm serve --model loopback`. This checks the abstraction's
// wiring: the `ready` -> [dspstate~] / `connect #1` start-up, the clock path, the ring buffers and the status outlet.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { ROOT, signal, useWorker } from "./harness.mjs";
import { Patcher } from "./patcher.mjs";

const FILE = path.join(ROOT, "patches/max/lmdm/patchers/lmdm.bridge.maxpat");
const BLOCK = 8192;
const shared = useWorker({ block: BLOCK });

const statusOut = (patch) => patch.messagesOut.get(2);
const lastStatus = (patch, key) => {
  const found = statusOut(patch).filter((m) => m[0] === "status" && m[1] === key);
  return found.length ? found[found.length - 1][2] : undefined;
};

test("the abstraction connects by itself and plays the worker's audio at the stated positions", async (t) => {
  const patch = new Patcher(FILE, { args: [shared.port], input: signal });
  try {
    patch.load();
    for (let i = 0; i < 150 && lastStatus(patch, "connected") !== 1; i++) await patch.run(0.1);
    assert.equal(lastStatus(patch, "connected"), 1, "status connected 1 from the right outlet");
    const latency = lastStatus(patch, "latency");
    assert.equal(latency, BLOCK);
    const from = patch.clock + latency + 4096;
    await patch.run(1.5);
    const to = patch.clock;
    await patch.run(0.5);
    const seen = statusOut(patch).length;
    patch.send(2, "dump");
    for (let i = 0; i < 50 && !statusOut(patch).slice(seen).some((m) => m[1] === "late_frames"); i++) {
      await patch.run(0.05);
    }
    const late = statusOut(patch).slice(seen).find((m) => m[1] === "late_frames")[2];
    let right = 0;
    let silent = 0;
    const wrong = [];
    for (let p = from; p < to; p++) {
      const h = [patch.heard.get(0).get(p), patch.heard.get(1).get(p)];
      const e = [Math.fround(signal(p - latency, 0)), Math.fround(signal(p - latency, 1))];
      if (h[0] === e[0] && h[1] === e[1]) right++;
      else if (h[0] === 0 && h[1] === 0) silent++;
      else if (wrong.length < 5) wrong.push({ p, h, e });
    }
    t.diagnostic(`abstraction: ${right} right, ${silent} silent, ${late} reported late of ${to - from}`);
    assert.deepEqual(wrong, []);
    assert.ok(right >= BLOCK, `${right} frames right`);
    assert.ok(silent <= late, `${silent} silent, ${late} late`);
    const errors = patch.bridge.errors().concat(patch.v8.errors);
    assert.deepEqual(errors, []);
  } finally {
    if (patch.bridge) await patch.bridge.stop();
  }
});

test("the control inlet takes `block_size short` like `mode`: a new hello, the short latency", async () => {
  const patch = new Patcher(FILE, { args: [shared.port], input: signal });
  try {
    patch.load();
    for (let i = 0; i < 150 && lastStatus(patch, "connected") !== 1; i++) await patch.run(0.1);
    assert.equal(lastStatus(patch, "block_size"), "long");
    patch.send(2, "block_size", "short");
    for (let i = 0; i < 150 && lastStatus(patch, "latency") !== BLOCK / 4; i++) await patch.run(0.1);
    assert.equal(lastStatus(patch, "latency"), BLOCK / 4);
    assert.equal(lastStatus(patch, "block_size"), "short");
    assert.deepEqual(patch.bridge.errors().concat(patch.v8.errors), []);
  } finally {
    if (patch.bridge) await patch.bridge.stop();
  }
});
