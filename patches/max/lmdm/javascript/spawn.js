// spawn.js: the worker the patch starts itself (docs/max.md "The patch starts the worker"), for lmdm.bridge.js.
// If nothing answers at a loopback endpoint, start `lmdm serve --zmq ENDPOINT --exit-with-parent` (the command is
// configurable), own it, pass its first lines and its errors to the Max console, start it again when it dies, and
// stop it (SIGTERM, SIGKILL after 3 s) when asked, when the script stops or when Node exits. Remote endpoints are
// refused: their worker runs on its own machine. Same rules as bridge/pd/spawner.c.
"use strict";

const { spawn } = require("child_process");
const { EventEmitter } = require("events");
const fs = require("fs");
const net = require("net");
const os = require("os");
const path = require("path");
const readline = require("readline");

const FIRST_LINES = 20;       // lines of each start passed on as they come; later ones only when they read as errors
const TERM_GRACE_MS = 3000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 8000;
const STEADY_MS = 10000;      // a worker that ran this long restarts after the first backoff again
const PROBE_MS = 300;
const BUSY_RETRY_MS = 1000;

// Node's default on these signals skips "exit" listeners: turn them into an ordinary exit, which stops the worker.
let signalsHooked = false;
function exitOnSignals() {
  if (signalsHooked) return;
  signalsHooked = true;
  for (const [sig, n] of [["SIGTERM", 15], ["SIGINT", 2], ["SIGHUP", 1]]) process.once(sig, () => process.exit(128 + n));
}

/** `tcp://HOST:PORT` with a loopback HOST -> { host, port }; anything else throws with the reason. */
function localEndpoint(endpoint) {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:]+):(\d+)$/.exec(String(endpoint));
  if (!m) throw new Error(`spawn: ${endpoint} is not tcp://HOST:PORT (a worker the patch starts listens on tcp)`);
  const host = m[1].replace(/^\[|\]$/g, "");
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw new Error(`spawn: ${endpoint} needs a fixed port 1..65535`);
  const v4 = net.isIPv4(host) && host.split(".")[0] === "127";
  const v6 = host === "::1" || /^::ffff:127\./i.test(host);
  if (!(host === "localhost" || v4 || v6)) {
    throw new Error(`spawn: ${endpoint} is not a loopback address (127.0.0.0/8, ::1, localhost): a remote worker ` +
      "is started on its own machine (lmdm serve), never from the patch");
  }
  return { host, port };
}

function executable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The default program: the checkout's own `lmdm` (.venv next to patches/), else `lmdm` on PATH, else
 * ~/.local/bin/lmdm (Max started from the Dock has a short PATH), else plain `lmdm` (its failure is posted). */
function defaultProgram() {
  const exe = process.platform === "win32" ? "lmdm.exe" : "lmdm";
  const venvBin = process.platform === "win32" ? "Scripts" : "bin";
  const candidates = [path.resolve(__dirname, "../../../../.venv", venvBin, exe)];
  for (const dir of (process.env.PATH || "").split(path.delimiter)) if (dir) candidates.push(path.join(dir, exe));
  candidates.push(path.join(os.homedir(), ".local/bin", exe));
  return candidates.find(executable) || exe;
}

function defaultCommand() {
  return [defaultProgram(), "serve"];
}

const looksLikeError = (line) => /error|Traceback|Exception/i.test(line) && !/^WARNING/.test(line);

/** Does anything accept connections at host:port? */
function answers(host, port) {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const done = (ok) => { s.destroy(); resolve(ok); };
    s.setTimeout(PROBE_MS, () => done(false));
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

/** One owned worker for one endpoint. Events: "log" (level, text), "change" (pid or 0). */
class Spawner extends EventEmitter {
  constructor(endpoint, command = null) {
    super();
    this.at = localEndpoint(endpoint);   // throws for a remote endpoint: nothing is ever started for it
    this.endpoint = endpoint;
    this.command = command && command.length ? command.map(String) : defaultCommand();
    this.child = null;
    this.starts = 0;
    this.stopped = false;
    this.backoffMs = 0;
    this.wake = null;                    // resolves a backoff wait early (`kick`)
    this.onExit = () => this.killNow("SIGTERM");
    process.on("exit", this.onExit);     // Node ending in order: the worker goes too (a kill: --exit-with-parent)
    exitOnSignals();
  }

  get pid() {
    return this.child ? this.child.pid : 0;
  }

  /** The loop: probe, start, wait for the child's end, back off, again; until stop(). */
  async run() {
    let toldBusy = false;
    while (!this.stopped) {
      if (this.backoffMs > 0) await this.sleep(this.backoffMs);
      if (this.stopped) break;
      if (await answers(this.at.host, this.at.port)) {
        if (!toldBusy) {
          this.emit("log", "info", `spawn: something already answers at ${this.endpoint}: using it, no worker ` +
            "started (one is when it stops answering)");
        }
        toldBusy = true;
        this.backoffMs = BUSY_RETRY_MS;
        continue;
      }
      toldBusy = false;
      const started = Date.now();
      const how = await this.startOnce();
      if (this.stopped) break;
      const ran = Date.now() - started;
      if (ran >= STEADY_MS || this.backoffMs < BACKOFF_FIRST_MS) this.backoffMs = BACKOFF_FIRST_MS;
      else this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
      if (how) {
        this.emit("log", "error", `spawn: worker ${how} after ${(ran / 1000).toFixed(1)} s; starting it again in ` +
          `${(this.backoffMs / 1000).toFixed(1)} s`);
      }
    }
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => { clearTimeout(timer); resolve(); };
    }).then(() => { this.wake = null; });
  }

  /** Start the command once; resolves when the child has gone, with how it went ("" when it never started). */
  startOnce() {
    const [program, ...args] = this.command;
    const argv = [...args, "--zmq", this.endpoint, "--exit-with-parent"];
    return new Promise((resolve) => {
      let child;
      try {
        // detached: its own process group, so a stop reaches anything it started; stdin closed, output piped
        child = spawn(program, argv, { detached: process.platform !== "win32", stdio: ["ignore", "pipe", "pipe"],
          env: { ...process.env, PYTHONUNBUFFERED: "1" }, windowsHide: true });
      } catch (e) {
        this.emit("log", "error", `spawn: cannot start ${program}: ${e.message} (set the command with \`spawncmd\`)`);
        resolve("");
        return;
      }
      let seen = 0;
      const relay = (line) => {
        if (!line.trim()) return;
        const bad = looksLikeError(line);
        if (seen++ < FIRST_LINES || bad) this.emit("log", bad ? "error" : "info", `worker: ${line}`);
      };
      readline.createInterface({ input: child.stdout }).on("line", relay);
      readline.createInterface({ input: child.stderr }).on("line", relay);
      child.once("error", (e) => {   // the program could not be run: no "exit" follows
        this.emit("log", "error", `spawn: cannot start ${program}: ${e.message} (set the command with \`spawncmd\`)`);
        if (this.child === child) this.child = null;
        this.emit("change", 0);
        resolve("");
      });
      child.once("spawn", () => {
        this.child = child;
        this.starts++;
        this.emit("log", "info", `spawn: started worker pid ${child.pid}: ${[program, ...argv].join(" ")}`);
        this.emit("change", child.pid);
        if (this.stopped) this.killNow("SIGTERM");   // stop() came while it was starting
      });
      child.once("exit", (code, sig) => {
        if (this.child === child) this.child = null;
        this.emit("change", 0);
        resolve(`pid ${child.pid} stopped (${sig ? `killed by signal ${sig}` : `exit status ${code}`})`);
      });
    });
  }

  /** Skip a backoff wait: start now. */
  kick() {
    if (this.wake) this.wake();
  }

  /** Signal the worker's whole process group (Windows: the process). */
  killNow(sig) {
    const child = this.child;
    if (!child) return;
    try {
      if (process.platform === "win32") child.kill(sig);
      else process.kill(-child.pid, sig);
    } catch {
      // already gone
    }
  }

  /** Stop for good: SIGTERM now, SIGKILL after the grace time; resolves once the worker has gone. */
  stop() {
    this.stopped = true;
    this.kick();
    process.removeListener("exit", this.onExit);
    const child = this.child;
    if (!child) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.killNow("SIGKILL"), TERM_GRACE_MS);
      child.once("exit", () => { clearTimeout(timer); resolve(); });
      this.killNow("SIGTERM");
    });
  }
}

module.exports = { Spawner, localEndpoint, defaultCommand };
