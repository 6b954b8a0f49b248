// lmdm.buffer.js (the [v8] side) on its own, with stand-in buffer~s: ring arithmetic, what it sends on a clock tick,
// where `generated` audio lands, late frames, and a clock that starts over.
import assert from "node:assert/strict";
import { test } from "node:test";
import { StandInBuffer, loadBufferScript } from "./harness.mjs";

// Arrays made inside the vm have another realm's prototype: compare plain copies.
const plain = (x) => JSON.parse(JSON.stringify(x));

function setup(ring = 1000, inCh = 2, outCh = 2) {
  const buffers = new Map([["lmdm.in", new StandInBuffer(ring, inCh)], ["lmdm.out", new StandInBuffer(ring, outCh)]]);
  return { buffers, ...loadBufferScript(buffers) };
}

test("ringSpans splits at the end of the ring", () => {
  const { ctx } = setup();
  assert.deepEqual(plain(ctx.ringSpans(10, 5, 100)), [[10, 5]]);
  assert.deepEqual(plain(ctx.ringSpans(95, 10, 100)), [[95, 5], [0, 5]]);
  assert.deepEqual(plain(ctx.ringSpans(250, 100, 100)), [[50, 50], [0, 50]]);
  assert.deepEqual(plain(ctx.ringSpans(7, 0, 100)), []);
});

test("interleave and column are inverse", () => {
  const { ctx } = setup();
  const inter = ctx.interleave([[1, 2, 3], [-1, -2, -3]]);
  assert.deepEqual(Array.from(inter), [1, -1, 2, -2, 3, -3]);
  assert.deepEqual(Array.from(ctx.column(inter, 2, 1, 1, 3)), [-2, -3]);
});

test("playable: frames already past are skipped, frames beyond the ring are not written", () => {
  const { ctx } = setup();
  assert.deepEqual(Array.from(ctx.playable(100, 50, 90, 1000, 90)), [0, 50]);
  assert.deepEqual(Array.from(ctx.playable(100, 50, 120, 1000, 120)), [20, 50]);
  assert.deepEqual(Array.from(ctx.playable(100, 50, 200, 1000, 200)), [50, 50]);
  assert.deepEqual(Array.from(ctx.playable(100, 50, 0, 120, 0)), [0, 20]);
});

test("a clock tick sends the input written since the last tick, across the ring's end", () => {
  const { ctx, sent, buffers } = setup(1000);
  const input = buffers.get("lmdm.in");
  for (let p = 0; p < 1000; p++) {
    input.data[0][p] = p;
    input.data[1][p] = -p;
  }
  ctx.guard(0);
  ctx.chunk(4096);
  ctx.msg_float(900);                         // first tick: the timeline starts here
  sent.length = 0;
  ctx.msg_float(1100);                        // frames 900..1099 = ring slots 900..999, 0..99
  const audio = sent.filter((m) => m[0] === "audio");
  assert.equal(audio.length, 1);
  const [, index, ch, ...samples] = audio[0];
  assert.equal(index, 900);
  assert.equal(ch, 2);
  assert.equal(samples.length, 400);
  assert.deepEqual(samples.slice(0, 4), [900, -900, 901, -901]);
  assert.deepEqual(samples.slice(200, 202), [0, -0]);
  assert.deepEqual(sent[sent.length - 1], ["clock", 1100]);
});

test("generated audio lands at index mod ring; late frames are counted, not played", () => {
  const { ctx, sent, buffers } = setup(1000);
  const out = buffers.get("lmdm.out");
  ctx.msg_float(1000);
  ctx.msg_float(1000);                        // no advance: the playhead is at 1000
  sent.length = 0;
  ctx.generated(1990, 2, 0.5, -0.5, 0.25, -0.25, 0.125, -0.125);   // slots 990..992
  assert.deepEqual([out.data[0][990], out.data[1][990], out.data[0][992], out.data[1][992]],
    [0.5, -0.5, 0.125, -0.125]);
  ctx.generated(998, 1, 0.1, 0.2, 0.3, 0.4);  // 998, 999 are past; mono fills both channels
  assert.deepEqual(sent, [["late", 2]]);
  assert.equal(out.data[0][0], Math.fround(0.3));
  assert.equal(out.data[1][1], Math.fround(0.4));
  assert.equal(out.data[0][998], 0);
});

test("played output is zeroed so a missing answer is silence, and a restarted clock resets the timeline", () => {
  const { ctx, sent, buffers } = setup(1000);
  const out = buffers.get("lmdm.out");
  ctx.msg_float(0);
  ctx.generated(10, 2, 1, 1, 1, 1);
  ctx.msg_float(500);
  assert.equal(out.data[0][10], 0, "slot 10 was played and cleared");
  sent.length = 0;
  ctx.msg_float(64);                          // [count~] restarted with the audio
  assert.equal(sent[0][0], "restart");
  assert.deepEqual(sent[sent.length - 1], ["clock", 64]);
});

test("missing buffer~s and bad clocks are reported once, without throwing", () => {
  const buffers = new Map();
  const { ctx, errors } = loadBufferScript(buffers);
  ctx.msg_float(100);
  ctx.msg_float(200);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /buffer~ lmdm\.in or lmdm\.out is missing or empty/);
  const good = setup();
  good.ctx.msg_float(-3);
  assert.match(good.errors[0], /clock must be a sample position/);
});
