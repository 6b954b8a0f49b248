// The Max bridge with CURVE keys against a real `lmdm serve --curve-keys` (keys made by the real `lmdm keys`):
// the right keys stream the input back exactly; a key the worker never allowed, or no keys, get nothing and say so.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { JS_DIR, SimulatedPatch, startBridge, useWorker, waitFor } from "./harness.mjs";

const require = createRequire(path.join(JS_DIR, "package.json"));
const zmq = require("zeromq");
const LMDM = process.env.LMDM_BIN;
const RATE = 44100;
const BLOCK = 8192;

const keys = mkdtempSync(path.join(os.tmpdir(), "lmdm-curve-"));
execFileSync(LMDM, ["keys", "new", keys]);
execFileSync(LMDM, ["keys", "new", keys, "--client", "max"]);
const client = path.join(keys, "clients", "max");
const shared = useWorker({ block: BLOCK, extra: ["--curve-keys", keys] });
after(() => rmSync(keys, { recursive: true, force: true }));

function serverKey() {
  return execFileSync(LMDM, ["keys", "list", keys], { encoding: "utf8" }).match(/^server\s+server\s+(\S{40})/m)[1];
}

async function bridgeWith(curveArgs) {
  const bridge = startBridge();
  bridge.send("curve", ...curveArgs);
  bridge.send("connect", shared.port);
  bridge.send("rate", RATE);
  return bridge;
}

test("the right keys (a client folder) stream, placed at the stated positions", async (t) => {
  const bridge = await bridgeWith([client]);
  try {
    await waitFor(() => bridge.status("connected") === 1, 10000, "status connected 1");
    assert.equal(bridge.status("curve"), 1);
    const latency = bridge.status("latency");
    const patch = new SimulatedPatch(bridge, { rate: RATE, start: 777 });
    const from = patch.clock + latency + 4096;
    await patch.run(1.5);
    const a = patch.audit(from, patch.clock, latency);
    t.diagnostic(`${a.correct} frames right, ${a.silent} silent`);
    assert.equal(a.wrongCount, 0, JSON.stringify(a.wrong));
    assert.ok(a.correct >= BLOCK, `only ${a.correct} frames came back right`);
    assert.deepEqual(bridge.errors(), []);
  } finally {
    await bridge.stop();
  }
});

for (const [name, args, said] of [
  ["a key the worker never allowed", () => {
    const k = zmq.curveKeyPair();
    return [serverKey(), k.publicKey, k.secretKey];
  },
    /the worker refused this client's CURVE key: it is not on the worker's allow-list/],
  ["no keys at all", () => [], /the worker requires CURVE keys/],
]) {
  test(`${name}: no session, no audio, and the patch is told`, async () => {
    const bridge = await bridgeWith(args());
    try {
      await waitFor(() => bridge.outlets.some((o) => o[0] === "error" && o[1] === "auth"), 10000, "error auth");
      assert.match(bridge.errors().join("\n"), said);
      const patch = new SimulatedPatch(bridge, { rate: RATE });
      await patch.run(2.0);
      assert.equal(patch.audit(0, patch.clock, BLOCK).correct, 0, "audio came back without an allowed key");
      assert.notEqual(bridge.status("connected"), 1);
      // one report, not one per retry
      assert.equal(bridge.outlets.filter((o) => o[0] === "error" && o[1] === "auth").length, 1);
      // the right keys, sent at run time, reconnect
      bridge.send("curve", client);
      await waitFor(() => bridge.status("connected") === 1, 10000, "connected after the right keys");
    } finally {
      await bridge.stop();
    }
  });
}

test("bad key arguments are refused with a clear error", async () => {
  const bridge = startBridge();
  try {
    bridge.send("curve", "short", "keys", "here");
    bridge.send("curve", path.join(keys, "nowhere"));
    await waitFor(() => bridge.errors().length >= 2, 5000, "two errors");
    assert.match(bridge.errors()[0], /server public key "short" is not a CURVE key/);
    assert.match(bridge.errors()[1], /cannot read .*nowhere.*server\.key/);
    bridge.send("dump");
    await waitFor(() => bridge.status("curve") !== undefined, 5000, "status curve");
    assert.equal(bridge.status("curve"), 0, "refused keys leave CURVE off");
  } finally {
    await bridge.stop();
  }
});
