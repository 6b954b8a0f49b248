// A minimal interpreter for the Max objects [lmdm.bridge] is made of, to run the abstraction's own .maxpat (its boxes
// and patchlines as saved) with the real lmdm.buffer.js and lmdm.bridge.js. Messages travel depth-first and
// synchronously along patchlines, fanning out right to left as in Max; signals are computed per vector for the
// signal objects the abstraction uses ([count~] -> [%~] -> [poke~] / [index~]). Behaviour follows the Max reference
// of each object; anything else in the patch is an error, so a new object in the abstraction needs a model here.
import { readFileSync } from "node:fs";
import { StandInBuffer, loadBufferScript, startBridge } from "./harness.mjs";

const atomize = (word) => (/^-?\d+(\.\d+)?$/.test(word) ? Number(word) : word);

export class Patcher {
  /**
   * @param file   the .maxpat
   * @param args   the abstraction's arguments (#1, #2, ...)
   * @param input  (position, channel) -> sample, for the signal inlets in left-to-right order
   * @param rate   sample rate [dspstate~] reports
   */
  constructor(file, { args = [], input, rate = 44100, ioVector = 512, vector = 64 }) {
    const text = readFileSync(file, "utf8")
      .replace(/#0/g, "1001")
      .replace(/#(\d)/g, (_, n) => (args[n - 1] !== undefined ? String(args[n - 1]) : "0"));
    this.patcher = JSON.parse(text).patcher;
    Object.assign(this, { input, rate, ioVector, vector });
    this.boxes = new Map(this.patcher.boxes.map((b) => [b.box.id, b.box]));
    this.lines = new Map();
    for (const { patchline: l } of this.patcher.lines) {
      const key = `${l.source[0]}:${l.source[1]}`;
      if (!this.lines.has(key)) this.lines.set(key, []);
      this.lines.get(key).push({ box: l.destination[0], inlet: l.destination[1] });
    }
    for (const list of this.lines.values()) {   // Max fans out right to left
      list.sort((a, b) => this.boxes.get(b.box).patching_rect[0] - this.boxes.get(a.box).patching_rect[0]);
    }
    const byX = (cls) => [...this.boxes.values()].filter((b) => b.maxclass === cls)
      .sort((a, b) => a.patching_rect[0] - b.patching_rect[0]).map((b) => b.id);
    this.inlets = byX("inlet");
    this.outlets = byX("outlet");
    this.buffers = new Map();
    this.metros = [];
    this.clock = 0;
    this.heard = new Map();           // outlet order -> Map(position -> sample)
    this.messagesOut = new Map();     // outlet order -> [messages]
    this.outlets.forEach((id, k) => { this.heard.set(k, new Map()); this.messagesOut.set(k, []); });
    this.bridge = null;
    this.v8 = null;
    this._build();
  }

  words(id) {
    return (this.boxes.get(id).text || "").split(/\s+/).filter(Boolean);
  }

  _build() {
    this.objects = new Map();
    const ordered = [...this.boxes.values()].sort((a, b) => (this._name(b) === "buffer~") - (this._name(a) === "buffer~"));
    for (const box of ordered) this.objects.set(box.id, this._make(box));
  }

  _name(box) {
    return box.maxclass === "newobj" ? box.text.split(/\s+/)[0] : box.maxclass;
  }

  _make(box) {
    const name = this._name(box);
    const args = this.words(box.id).slice(1).map(atomize);
    const out = (k, msg) => this.emit(box.id, k, msg);
    switch (name) {
      case "inlet": case "comment": case "count~": case "%~": case "poke~": case "index~":
        return { receive() {} };                        // signal objects run in _vector()
      case "outlet": {
        const k = this.outlets.indexOf(box.id);
        return { receive: (inlet, msg) => this.messagesOut.get(k).push(msg) };
      }
      case "buffer~": {
        const buf = new StandInBuffer(Math.round((args[1] / 1000) * this.rate), args[2] || 1);
        this.buffers.set(String(args[0]), buf);
        return { receive: (inlet, msg) => { if (msg[0] === "sizeinsamps") buf.resize(msg[1]); } };
      }
      case "loadmess":
        return { receive() {}, load: () => out(0, args) };
      case "message":
        return { receive: () => out(0, this.words(box.id).map(atomize)) };
      case "metro": {
        const m = { running: false, receive: (inlet, msg) => { if (inlet === 0) m.running = msg[0] !== 0 && msg[0] !== "stop"; },
          tick: () => m.running && out(0, ["bang"]) };
        this.metros.push(m);
        return m;
      }
      case "snapshot~":
        return { receive: (inlet, msg) => { if (inlet === 0 && msg[0] === "bang") out(0, [this.clock]); } };
      case "dspstate~":
        return { receive: () => { out(3, [this.ioVector]); out(2, [this.vector]); out(1, [this.rate]); out(0, [1]); } };
      case "prepend":
        return { receive: (inlet, msg) => out(0, [...args, ...msg]) };
      case "t": case "trigger":
        return { receive: () => { for (let k = args.length - 1; k >= 0; k--) out(k, ["bang"]); } };
      case "routepass":
        return { receive: (inlet, msg) => { const k = args.indexOf(msg[0]); out(k >= 0 ? k : args.length, msg); } };
      case "v8": {
        const v8 = loadBufferScript(this.buffers, ["lmdm.buffer.js", ...args.slice(1).map(String)]);
        v8.ctx.onOutlet = (msg) => out(0, msg);
        this.v8 = v8;
        return { receive: (inlet, msg) => (typeof msg[0] === "number" ? v8.ctx.msg_float(msg[0]) : v8.ctx[msg[0]](...msg.slice(1))) };
      }
      case "node.script": {
        const bridge = startBridge();
        bridge.onOutlet = (msg) => out(0, msg);
        this.bridge = bridge;
        return { receive: (inlet, msg) => bridge.send(...msg) };
      }
      default:
        throw new Error(`no model for [${name}] (box ${box.id})`);
    }
  }

  emit(id, outlet, msg) {
    for (const { box, inlet } of this.lines.get(`${id}:${outlet}`) || []) this.objects.get(box).receive(inlet, msg);
  }

  /** Patch loaded: fire the [loadmess]es. */
  load() {
    for (const obj of this.objects.values()) if (obj.load) obj.load();
  }

  /** A message into the abstraction's inlet `k` (left to right). */
  send(k, ...msg) {
    this.emit(this.inlets[k], 0, msg);
  }

  /** The box feeding inlet `inlet` of box `id` (signal inlets have one source here). */
  _source(id, inlet) {
    if (!this.sources) this.sources = new Map();
    const key = `${id}:${inlet}`;
    if (!this.sources.has(key)) {
      let found = null;
      for (const [from, list] of this.lines) {
        if (list.some((d) => d.box === id && d.inlet === inlet)) found = from.split(":")[0];
      }
      this.sources.set(key, found);
    }
    return this.sources.get(key);
  }

  _signal(id, p) {
    const name = this._name(this.boxes.get(id));
    if (name === "count~") return p;
    if (name === "%~") return this._signal(this._source(id, 0), p) % Number(this.words(id)[1]);
    if (name === "inlet") return this.input(p, this.inlets.indexOf(id));
    throw new Error(`no signal model for [${name}]`);
  }

  /** One signal vector: [poke~] writes, [index~] reads into the outlet it feeds. */
  _vector() {
    if (!this.plan) {
      this.plan = { pokes: [], reads: [] };
      for (const box of this.boxes.values()) {
        const name = this._name(box);
        const w = this.words(box.id);
        if (name === "poke~") {
          this.plan.pokes.push({ buf: w[1], ch: Number(w[2]), value: this._source(box.id, 0), index: this._source(box.id, 1) });
        }
        if (name === "index~") {
          const dest = this.lines.get(`${box.id}:0`) || [];
          const outlet = dest.map((d) => this.outlets.indexOf(d.box)).find((k) => k >= 0);
          this.plan.reads.push({ buf: w[1], ch: Number(w[2]), index: this._source(box.id, 0), outlet });
        }
      }
    }
    for (let i = 0; i < this.vector; i++) {
      const p = this.clock + i;
      for (const w of this.plan.pokes) {
        const buf = this.buffers.get(w.buf);
        buf.data[w.ch - 1][this._signal(w.index, p)] = this._signal(w.value, p);
      }
      for (const r of this.plan.reads) {
        const buf = this.buffers.get(r.buf);
        this.heard.get(r.outlet).set(p, buf.data[r.ch - 1][this._signal(r.index, p)]);
      }
    }
    this.clock += this.vector;
  }

  /** Real time: audio vectors as they fall due, and a scheduler tick (the [metro]s) every `tickMs`. */
  async run(seconds, tickMs = 5) {
    const t0 = performance.now();
    const c0 = this.clock;
    const total = Math.ceil((seconds * this.rate) / this.vector) * this.vector;
    while (this.clock - c0 < total) {
      const due = c0 + Math.min(total, Math.floor(((performance.now() - t0) / 1000) * this.rate));
      while (this.clock + this.vector <= due) this._vector();
      for (const m of this.metros) m.tick();
      await new Promise((r) => setTimeout(r, tickMs));
    }
  }
}
