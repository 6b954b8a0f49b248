// CURVE keys for the bridge (docs/security.md): three Z85 keys from the patch, or a client folder made by
// `lmdm keys new DIR --client NAME` (server.key and client.key_secret, zmq.auth's certificate format).
"use strict";

const fs = require("fs");
const path = require("path");

const Z85_KEY = /^[0-9A-Za-z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

function check(what, key) {
  if (!Z85_KEY.test(String(key))) {
    throw new Error(`${what} ${JSON.stringify(String(key))} is not a CURVE key (40 Z85 characters)`);
  }
  return String(key);
}

/** The value of `name = "..."` in a certificate file. */
function certValue(file, name) {
  let text;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read ${file} (a client folder from \`lmdm keys new DIR --client NAME\`): ` +
      `${e.code || e.message}`);
  }
  const m = text.match(new RegExp(`^\\s*${name}\\s*=\\s*"([^"]*)"`, "m"));
  if (!m) throw new Error(`${file} holds no ${name}`);
  return m[1];
}

/** `curve` arguments -> zeromq.js Dealer options, or null (no arguments: CURVE off). Throws Error with the reason. */
function curveOptions(args) {
  if (args.length === 0) return null;
  if (args.length === 1) {
    const dir = path.resolve(String(args[0]));
    const secret = path.join(dir, "client.key_secret");
    args = [certValue(path.join(dir, "server.key"), "public-key"), certValue(secret, "public-key"),
      certValue(secret, "secret-key")];
  }
  if (args.length !== 3) {
    throw new Error("curve takes <server public> <client public> <client secret>, a client folder, or nothing (off)");
  }
  return { curveServerKey: check("server public key", args[0]), curvePublicKey: check("client public key", args[1]),
    curveSecretKey: check("client secret key", args[2]) };
}

/** What a refused handshake means, by zeromq.js event type. Without keys, any refusal means the worker wants them. */
function handshakeError(type, curveOn) {
  if (!curveOn) return "the worker requires CURVE keys (lmdm serve --curve-keys?): send `curve <client folder>`";
  if (type === "handshake:error:auth") {
    return "the worker refused this client's CURVE key: it is not on the worker's allow-list (lmdm keys add)";
  }
  if (type === "handshake:error:protocol") return "the worker does not use CURVE (started without --curve-keys?)";
  return "CURVE handshake failed: is the server key the worker's (server.key)?";
}

module.exports = { curveOptions, handshakeError };
