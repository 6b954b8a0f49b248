// A thin stand-in for Node for Max's `max-api` module, for running lmdm.bridge.js outside Max.
// It has the same surface the bridge uses (addHandler(s), outlet, post, POST_LEVELS, MESSAGE_TYPES) and speaks JSON
// lines in place of Max's pipe: each stdin line is one message from the patch, `["selector", arg, ...]`; each outlet
// call or post becomes one stdout line, `{"outlet": [...]}` or `{"post": "...", "level": "..."}`.
// Dispatch follows node.script: the selector's handler gets the arguments, then the ALL handler gets
// (handled, selector, ...args).
"use strict";

const readline = require("readline");

const POST_LEVELS = Object.freeze({ ERROR: "error", INFO: "info", WARN: "warn" });
const MESSAGE_TYPES = Object.freeze({ ALL: "all", BANG: "bang", DICT: "dict", NUMBER: "number", LIST: "list" });
const handlers = new Map();

function write(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function addHandler(selector, fn) {
  if (!handlers.has(selector)) handlers.set(selector, []);
  handlers.get(selector).push(fn);
}

function addHandlers(map) {
  for (const [selector, fn] of Object.entries(map)) addHandler(selector, fn);
}

function removeHandler(selector, fn) {
  const list = handlers.get(selector) || [];
  handlers.set(selector, list.filter((h) => h !== fn));
}

function removeHandlers(selector) {
  handlers.delete(selector);
}

async function outlet(...args) {
  write({ outlet: args.flat() });
}

async function outletBang() {
  write({ outlet: ["bang"] });
}

async function post(...args) {
  let level = POST_LEVELS.INFO;
  if (args.length > 1 && Object.values(POST_LEVELS).includes(args[args.length - 1])) level = args.pop();
  write({ post: args.map(String).join(" "), level });
}

async function dispatch(selector, args) {
  const own = handlers.get(selector) || [];
  for (const fn of own) await fn(...args);
  for (const fn of handlers.get(MESSAGE_TYPES.ALL) || []) await fn(own.length > 0, selector, ...args);
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    write({ post: `stand-in: not JSON: ${line}`, level: POST_LEVELS.ERROR });
    return;
  }
  const [selector, ...args] = msg;
  dispatch(selector, args);
});
lines.on("close", () => process.exit(0));

module.exports = { POST_LEVELS, MESSAGE_TYPES, addHandler, addHandlers, removeHandler, removeHandlers, outlet,
  outletBang, post };
