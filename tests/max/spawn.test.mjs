// The Max bridge starts its own worker (spawn.js): real Node, the real lmdm.bridge.js, a real `lmdm serve` that the
// bridge itself starts. Killed worker -> started again and the stream resumes; the bridge ending in any way (stdin
// closed, SIGTERM as when Max stops node.script, SIGKILL) -> no worker left; remote endpoints -> nothing started.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { JS_DIR, ROOT, SimulatedPatch, auditPlacement, freePort, startBridge, startWorker, streamAndAudit, waitFor }
  from "./harness.mjs";

const RATE = 44100;
const BLOCK = 8192;
const LMDM = process.env.LMDM_BIN;
const COMMAND = [LMDM, "serve", "--model", "loopback", "--block", BLOCK, "--osc", "none", "--osc-reply", "none"];

/** Pids of live processes (zombies left out) whose command line holds `word`. */
function processesWith(word) {
  const found = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, "utf8").replaceAll("\0", " ");
      const state = readFileSync(`/proc/${name}/stat`, "utf8").split(")").pop().trim().split(" ")[0];
      if (cmdline.includes(word) && state !== "Z") found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** A bridge that owns a worker at a free port, connected, the worker's pid known. */
async function spawnedBridge(args = ["@spawn", "1"]) {
  const port = await freePort();
  const endpoint = `tcp://127.0.0.1:${port}`;
  const bridge = startBridge(args);
  bridge.send("spawncmd", ...COMMAND);
  bridge.send("connect", port);
  if (!args.length) bridge.send("spawn");   // the message form: starts for the endpoint connected to
  bridge.send("rate", RATE);
  await waitFor(() => bridge.status("connected") === 1, 60000, "connected 1 to the spawned worker");
  await waitFor(() => bridge.status("block") !== undefined, 2000, "the welcome's status lines");
  const pid = bridge.status("spawn_pid");
  assert.ok(pid > 0, `spawn_pid ${pid}`);
  assert.deepEqual(processesWith(endpoint), [pid]);
  return { bridge, endpoint, pid };
}

test("a killed worker is started again, the stream resumes, and closing the bridge stops it", async (t) => {
  const { bridge, endpoint, pid: first } = await spawnedBridge();
  try {
    const patch = new SimulatedPatch(bridge, { rate: RATE });
    auditPlacement(await streamAndAudit(bridge, patch, 1.5), BLOCK);
    assert.ok(bridge.posts.some((p) => p.post.includes(`spawn: started worker pid ${first}: ${LMDM} serve`)));
    assert.ok(bridge.posts.some((p) => p.post.includes("lmdm: worker: lmdm serve: model loopback")),
      "the worker's first lines reach the console");

    process.kill(first, "SIGKILL");
    await waitFor(() => bridge.status("spawn_starts") === 2 && bridge.status("spawn_pid") > 0, 30000, "a new worker");
    const second = bridge.status("spawn_pid");
    assert.notEqual(second, first);
    assert.match(bridge.errors().join("\n"), new RegExp(`spawn: worker pid ${first} stopped \\(killed by signal SIGKILL`));
    await waitFor(() => bridge.status("reconnects") >= 1 && bridge.status("connected") === 1, 60000,
      "the session open again on the new worker");
    const a = await streamAndAudit(bridge, patch, 1.5);
    t.diagnostic(`after the restart: ${a.correct} frames right, ${a.silent} silent`);
    auditPlacement(a, BLOCK);

    await bridge.stop();   // stdin closed: the script ends in order
    await waitFor(() => processesWith(endpoint).length === 0, 10000, `no worker at ${endpoint} after the bridge ended`);
  } finally {
    await bridge.stop();
  }
});

for (const sig of ["SIGTERM", "SIGKILL"]) {
  test(`${sig} of the bridge leaves no worker`, async () => {
    const { bridge, endpoint } = await spawnedBridge();
    bridge.proc.kill(sig);   // SIGTERM: Max stopping node.script; SIGKILL: the worker's --exit-with-parent
    await bridge.stop();
    await waitFor(() => processesWith(endpoint).length === 0, 15000, `no worker at ${endpoint} after ${sig}`);
  });
}

test("spawn 0 stops the worker; spawn starts it again", async () => {
  const { bridge, endpoint } = await spawnedBridge([]);   // `spawn` as a message, no script argument
  try {
    bridge.send("spawn", 0);
    await waitFor(() => processesWith(endpoint).length === 0, 10000, "the worker stopped by `spawn 0`");
    bridge.send("spawn");
    await waitFor(() => processesWith(endpoint).length === 1, 30000, "a worker started by `spawn`");
    const before = bridge.errors().length;
    bridge.send("spawn", 2);
    await waitFor(() => bridge.errors().length > before, 5000, "an error for spawn 2");
    assert.match(bridge.errors().slice(before).join("\n"), /spawn takes nothing \(start now\), 1 \(on\) or 0 \(off\)/);
  } finally {
    await bridge.stop();
  }
});

test("remote endpoints are refused and nothing is started", async () => {
  const port = await freePort();
  const bridge = startBridge(["@spawn", "1"]);
  try {
    bridge.send("spawncmd", ...COMMAND);
    bridge.send("connect", `tcp://192.0.2.7:${port}`);
    bridge.send("connect", "0.0.0.0", port);
    await waitFor(() => bridge.errors().length >= 2, 5000, "two refusals");
    assert.match(bridge.errors()[0], new RegExp(`spawn: tcp://192.0.2.7:${port} is not a loopback address`));
    assert.match(bridge.errors()[1], new RegExp(`spawn: tcp://0.0.0.0:${port} is not a loopback address`));
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(processesWith(String(port)), []);
    assert.equal(bridge.status("spawn_pid"), undefined);
  } finally {
    await bridge.stop();
  }
});

test("a worker already answering is used, none is started", async () => {
  const port = await freePort();
  const worker = await startWorker({ port, block: BLOCK });
  const bridge = startBridge(["@spawn", "1"]);
  try {
    bridge.send("spawncmd", ...COMMAND);
    bridge.send("connect", port);
    bridge.send("rate", RATE);
    await waitFor(() => bridge.status("connected") === 1, 20000, "connected to the worker already there");
    await waitFor(() => bridge.posts.some((p) => p.post.includes("already answers")), 5000, "the note");
    await waitFor(() => bridge.status("spawn_starts") !== undefined, 2000, "status spawn_starts");   // next refresh
    assert.equal(bridge.status("spawn_starts"), 0);
    assert.equal(bridge.status("spawn_pid"), 0);
    assert.deepEqual(processesWith(`tcp://127.0.0.1:${port}`), [worker.proc.pid]);
  } finally {
    await bridge.stop();
    await worker.stop();
  }
});

test("the default command is the checkout's lmdm, else lmdm on PATH", () => {
  const { defaultCommand } = createRequire(import.meta.url)(path.join(JS_DIR, "spawn.js"));
  const bin = mkdtempSync(path.join(os.tmpdir(), "lmdm-path-"));
  writeFileSync(path.join(bin, "lmdm"), "#!/bin/sh\n");
  chmodSync(path.join(bin, "lmdm"), 0o755);
  const saved = process.env.PATH;
  try {
    process.env.PATH = `/nonexistent:${bin}:/usr/bin`;
    const venv = path.join(ROOT, ".venv/bin/lmdm");
    assert.deepEqual(defaultCommand(), [existsSync(venv) ? venv : path.join(bin, "lmdm"), "serve"]);
  } finally {
    process.env.PATH = saved;
  }
});
