// protocol.js from the command line, for the cross-language test in test_max_js.py:
//   node codec.mjs encode   -> one line per client message: {"type": ..., "b64": <msgpack frame>}
//   node codec.mjs codes    -> the error codes protocol.js knows, one JSON list
//   node codec.mjs decode   <- base64 worker frames on stdin -> one JSON line each: the map (audio as floats) or
//                              {"error": code}
import { createRequire } from "node:module";
import readline from "node:readline";
import { JS_DIR } from "./harness.mjs";

const P = createRequire(import.meta.url)(`${JS_DIR}/protocol.js`);
const b64 = (bytes) => Buffer.from(bytes).toString("base64");

if (process.argv[2] === "codes") {
  console.log(JSON.stringify(P.ERROR_CODES));
} else if (process.argv[2] === "encode") {
  const messages = [
    P.hello({ stream: "max-1", rate: 48000, channels: 2, out_channels: 1, client: "lmdm-max/test", mode: "delay",
      block_size: "short" }),
    P.audio(1234567, 2, 48000, [0.5, -0.5, 0.25, -0.25, 1, -1], 1230000),
    P.request(1234567, 4096, 1230000),
    P.param("prompt", "warm analog pads"),
    P.param("cfg", 2.5),
    P.reset(),
    P.status(),
    P.status("*"),
    P.ping(1000),
    P.bye(),
  ];
  for (const m of messages) console.log(JSON.stringify({ type: m.type, b64: b64(P.encode(m)) }));
} else {
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    try {
      const msg = P.decode(Buffer.from(line.trim(), "base64"));
      if (msg.data) msg.data = Array.from(P.fromFloat32LE(msg.data));
      console.log(JSON.stringify(msg));
    } catch (e) {
      console.log(JSON.stringify({ error: e.code || String(e) }));
    }
  });
}
