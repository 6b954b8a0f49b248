// One connection to the worker: a ZeroMQ DEALER, the hello/welcome handshake, heartbeats and reconnection.
// Liveness follows docs/protocol.md: ping every heartbeat_ms; no answer for 3 x heartbeat_ms, a `no_session` error or
// a `bye` from the worker -> close the DEALER, open a new one and say hello again. The caller keeps its sample clock.
"use strict";

const { EventEmitter } = require("events");
const zmq = require("zeromq");
const P = require("./protocol");
const { handshakeError } = require("./curve");

const TICK_MS = 100;          // how often timeouts are checked
const QUEUE_LIMIT = 4096;     // messages waiting for the socket; beyond this they are dropped and counted
const DEFAULT_HEARTBEAT_MS = 1000;

const now = () => performance.now();

/**
 * Events: "welcome" (msg), "message" (msg: generated, status, ack, error, ...), "down" (reason), "log" (level, text),
 * "refused" (text: the worker refused the handshake, once until the next welcome), "resumed" (welcome: the worker
 * refused a re-hello, the session it had streams on).
 * `makeHello()` is called for every (re)connection so it always carries the current rate and channels.
 * `curve`: zeromq.js CURVE options (curveServerKey, curvePublicKey, curveSecretKey) or null.
 */
class Session extends EventEmitter {
  constructor({ endpoint, makeHello, welcomeTimeoutMs = 1500, curve = null }) {
    super();
    this.endpoint = endpoint;
    this.curve = curve;
    this.refusedReported = false;
    this.makeHello = makeHello;
    this.welcomeTimeoutMs = welcomeTimeoutMs;
    this.state = "closed";        // closed | connecting | open
    this.sock = null;
    this.queue = [];
    this.pumping = false;
    this.welcome = null;
    this.heartbeatMs = DEFAULT_HEARTBEAT_MS;
    this.stats = { dropped: 0, reconnects: 0, rtt_ms: 0 };
    this.welcomed = false;        // a session was open once: the next welcome is a reconnection
    this.retrying = false;        // retries after the first are silent until a welcome
    this.rehelloFrom = null;      // the welcome of the session a re-hello on this socket would replace
    this.timer = null;
  }

  get open() {
    return this.state === "open";
  }

  start() {
    if (this.timer === null) this.timer = setInterval(() => this._tick(), TICK_MS);
    this._connect();
  }

  /** Close for good (the patch said `disconnect`, or node.script stops). */
  async stop() {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.open) this.send(P.bye());
    await this._drain(200);
    this._closeSocket();
    this._setState("closed", "disconnect");
  }

  /** Queue one message; false when it cannot go now (no session yet, or the queue is full). */
  send(msg) {
    if (msg.type !== "hello" && msg.type !== "bye" && !this.open) return false;
    if (this.queue.length >= QUEUE_LIMIT) {
      this.stats.dropped++;
      return false;
    }
    this.queue.push(P.encode(msg));
    this._pump();
    return true;
  }

  /** Start over with a new DEALER (the doc's reconnection rule). */
  reconnect(reason) {
    if (this.state === "closed" && this.timer === null) return;
    if (!this.retrying) this.emit("log", "warn", `reconnecting to ${this.endpoint}: ${reason} (retrying quietly)`);
    this.retrying = true;
    this._connect(reason);
  }

  /**
   * Say hello again on this connection (what the worker takes only in hello, such as `block_size`, changed). Until
   * the answer nothing else is sent, so nothing meant for the old session reaches the new one; a refusal leaves the
   * old session streaming (docs/protocol.md, Sessions). With no socket (the last hello was refused) connect anew.
   */
  rehello(reason) {
    if (this.sock === null) {
      if (this.timer !== null) this._connect(reason);
      return;
    }
    if (this.open) this.rehelloFrom = this.welcome;
    this.state = "connecting";
    this.helloAt = now();
    this.send(this.makeHello());
  }

  _connect(reason = "connecting") {
    this._closeSocket();
    if (this.rehelloFrom !== null) {   // a re-hello went unanswered: the session it would have replaced is gone too
      this.rehelloFrom = null;
      this.welcome = null;
      this.emit("down", reason);
    }
    this.queue = [];
    const sock = new zmq.Dealer({ linger: 0, sendHighWaterMark: 2000, receiveHighWaterMark: 4000, ...this.curve });
    for (const type of ["handshake:error:auth", "handshake:error:protocol", "handshake:error:other"]) {
      sock.events.on(type, () => this._refused(sock, type));
    }
    try {
      sock.connect(this.endpoint);
    } catch (e) {
      sock.close();
      this.emit("log", "error", `cannot connect to ${JSON.stringify(this.endpoint)}: ${e.message}`);
      this._setState("closed", "bad endpoint");
      return;
    }
    this.sock = sock;
    this._setState("connecting", reason);
    this.lastHeard = now();
    this.lastPing = now();
    this.helloAt = now();
    this._receive(sock);
    this.send(this.makeHello());
  }

  _refused(sock, type) {
    if (sock !== this.sock || this.refusedReported) return;
    this.refusedReported = true;
    this.retrying = true;   // "no welcome" retries say nothing more than this
    const text = handshakeError(type, this.curve !== null);
    this.emit("log", "error", `${text} (${this.endpoint})`);
    this.emit("refused", text);
  }

  _closeSocket() {
    if (this.sock !== null) {
      this.sock.close();
      this.sock = null;
    }
  }

  _setState(state, reason) {
    const was = this.state;
    this.state = state;
    if (was === "open" && state !== "open") {
      this.welcome = null;
      this.emit("down", reason);
    }
  }

  async _pump() {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && this.sock !== null) {
        const sock = this.sock;
        try {
          await sock.send(this.queue[0]);
        } catch (e) {
          if (sock === this.sock) this.emit("log", "warn", `send failed: ${e.message}`);
          if (sock === this.sock) this.stats.dropped++;
        }
        if (sock === this.sock) this.queue.shift();
      }
    } finally {
      this.pumping = false;
    }
  }

  async _drain(ms) {
    const until = now() + ms;
    while (this.queue.length > 0 && now() < until) await new Promise((r) => setTimeout(r, 5));
  }

  async _receive(sock) {
    try {
      for await (const [frame] of sock) {
        if (sock !== this.sock) return;
        this._onFrame(frame);
      }
    } catch (e) {
      if (sock === this.sock) this.emit("log", "warn", `receive stopped: ${e.message}`);
    }
  }

  _onFrame(frame) {
    this.lastHeard = now();
    let msg;
    try {
      msg = P.decode(frame);
    } catch (e) {
      this.emit("log", "error", `bad message from the worker (${e.code}): ${e.message}`);
      return;
    }
    switch (msg.type) {
      case "welcome":
        if (this.welcomed && this.rehelloFrom === null) this.stats.reconnects++;
        this.rehelloFrom = null;
        this.welcomed = true;
        this.retrying = false;
        this.refusedReported = false;
        this.welcome = msg;
        this.heartbeatMs = msg.heartbeat_ms > 0 ? msg.heartbeat_ms : DEFAULT_HEARTBEAT_MS;
        this.state = "open";
        this.emit("welcome", msg);
        return;
      case "pong":
        this.stats.rtt_ms = Math.max(0, now() - msg.t);
        return;
      case "bye":
        this._setState("connecting", `worker said bye: ${msg.reason || "no reason"}`);
        this.reconnect(`worker said bye (${msg.reason || "no reason"})`);
        return;
      case "error":
        if (msg.code === "no_session") {
          if (this.open || now() - this.helloAt > this.welcomeTimeoutMs) this.reconnect("worker lost our session");
          return;
        }
        if (msg.ref === "hello" && msg.code !== "taken_over" && this.state === "connecting") {
          this.emit("message", msg);   // the refusal first, then what it means
          this._helloRefused(msg);
          return;
        }
        if (msg.code === "taken_over") {
          // Another client said hello with our stream id. Let it have the stream: reconnecting would take it back
          // and the two would take it from each other for ever. `connect` in the patch takes it back on purpose.
          this.emit("log", "error", `${msg.text}; send \`connect\` to take the stream back`);
          this._closeSocket();
          this._setState("closed", "taken over");
          break;
        }
        break;
      default:
        break;
    }
    this.emit("message", msg);
  }

  /** A refused hello changes nothing on the worker: go on with the session we had, or stop (a retry would be refused
   * again) until the patch changes something. The error itself goes to the patch as a message. */
  _helloRefused(msg) {
    const previous = this.rehelloFrom;
    this.rehelloFrom = null;
    if (previous !== null) {
      this.state = "open";
      this.welcome = previous;
      this.emit("resumed", previous);
      return;
    }
    this._closeSocket();
    this._setState("closed", `hello refused (${msg.code})`);
    this.emit("log", "error", "not connected: send `block_size long`, another `mode` and `connect`, or `connect`");
  }

  _tick() {
    const t = now();
    if (this.state === "connecting" && t - this.helloAt > this.welcomeTimeoutMs) {
      this.reconnect(`no welcome within ${this.welcomeTimeoutMs} ms`);
    } else if (this.open) {
      if (t - this.lastHeard > 3 * this.heartbeatMs) {
        this.reconnect(`no answer for ${Math.round(t - this.lastHeard)} ms`);
      } else if (t - this.lastPing >= this.heartbeatMs) {
        this.lastPing = t;
        this.send(P.ping(t));
      }
    }
  }
}

module.exports = { Session };
