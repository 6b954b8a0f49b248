// lmdm.buffer.js: the [v8] (or Max 8 [js]) half of the lmdm bridge. node.script cannot reach buffer~, so this script
// moves samples between the patch's two ring buffer~s and [node.script lmdm.bridge.js]:
//   input  ring: [count~] -> [%~ N] -> [poke~ in] writes the patch's input at clock position p into frame p mod N;
//                on each clock tick this script reads what was written since the last tick and sends
//                `audio <index> <channels> <interleaved samples...>`, then `clock <position>`.
//   output ring: `generated <index> <channels> <samples...>` from node.script is written at frames index mod N, and
//                [index~ out] plays frame p mod N when the clock reaches p: audio plays exactly where the worker said.
//                Frames whose position has already passed are counted (`late <frames>`), never played later; played
//                frames are zeroed so a missing answer sounds as silence, not as the previous lap of the ring.
// Arguments: input buffer~ name, output buffer~ name. Written in ES5 so both [v8] and [js] run it.
autowatch = 1;
inlets = 1;
outlets = 1;

var inName = jsarguments.length > 1 ? String(jsarguments[1]) : "lmdm.in";
var outName = jsarguments.length > 2 ? String(jsarguments[2]) : "lmdm.out";
var inBuf = new Buffer(inName);
var outBuf = new Buffer(outName);

var guardFrames = 256;   // input newer than clock - guard may still be half-written by the audio thread
var chunkFrames = 512;   // frames per `audio` message
var now = -1;            // last clock position seen
var advance = 0;         // how far the clock moved in the last tick: the playhead may already be that far past `now`
var sentUntil = -1;      // input sent up to here (exclusive)
var clearedUntil = -1;   // output ring zeroed up to here (exclusive)
var complained = {};

// --- pure helpers (tested in Node) --------------------------------------------------------------------------------

/** The contiguous pieces [offset, length] of `count` frames from clock position `start` in a ring of `size`. */
function ringSpans(start, count, size) {
  var spans = [];
  var pos = start;
  var left = count;
  while (left > 0) {
    var off = pos % size;
    var len = Math.min(left, size - off);
    spans.push([off, len]);
    pos += len;
    left -= len;
  }
  return spans;
}

/** [[ch0 samples], [ch1 samples], ...] -> frame-interleaved array. */
function interleave(columns) {
  var ch = columns.length;
  var frames = ch > 0 ? columns[0].length : 0;
  var out = new Array(frames * ch);
  for (var c = 0; c < ch; c++) {
    for (var f = 0; f < frames; f++) out[f * ch + c] = columns[c][f];
  }
  return out;
}

/** Column `c` of interleaved `samples` (with `ch` channels), frames [from, to). */
function column(samples, ch, c, from, to) {
  var out = new Array(to - from);
  for (var f = from; f < to; f++) out[f - from] = samples[f * ch + c];
  return out;
}

/** Which frames [skip, keep) of a block at `index` can still be played when the clock is at `clock`. */
function playable(index, frames, clock, ringFrames, clearedTo) {
  var skip = index < clock ? Math.min(frames, clock - index) : 0;
  var limit = clearedTo + ringFrames;            // beyond this the ring slot is still waiting to be played
  var keep = Math.max(skip, Math.min(frames, limit - index));
  return [skip, keep];
}

// --- buffer~ access ----------------------------------------------------------------------------------------------

function complainOnce(key, text) {
  if (complained[key]) return;
  complained[key] = true;
  error("lmdm.buffer: " + text + "\n");
}

function readRing(buf, start, count) {
  var size = buf.framecount();
  var columns = [];
  var spans = ringSpans(start, count, size);
  for (var c = 1; c <= buf.channelcount(); c++) {
    var col = [];
    for (var s = 0; s < spans.length; s++) {
      var got = buf.peek(c, spans[s][0], spans[s][1]);
      col = col.concat(typeof got === "number" ? [got] : Array.prototype.slice.call(got));
    }
    columns.push(col);
  }
  return columns;
}

function zeroRing(buf, start, count) {
  var size = buf.framecount();
  var n = Math.min(count, size);
  var spans = ringSpans(start, n, size);
  for (var c = 1; c <= buf.channelcount(); c++) {
    for (var s = 0; s < spans.length; s++) {
      var zeros = new Array(spans[s][1]);
      for (var i = 0; i < zeros.length; i++) zeros[i] = 0;
      buf.poke(c, spans[s][0], zeros);
    }
  }
}

// Helpers are not messages: Max's js/v8 calls a function from the patch only when it is not marked local.
ringSpans.local = interleave.local = column.local = playable.local = 1;
complainOnce.local = readRing.local = zeroRing.local = sendInput.local = pokeRing.local = tick.local = 1;

// --- messages from the patch -------------------------------------------------------------------------------------

/** The clock: the sample position of [count~], read by [snapshot~] on each [metro] tick. */
function msg_float(position) {
  tick(position);
}

function msg_int(position) {
  tick(position);
}

function tick(position) {
  var c = Math.floor(position);
  if (!(c >= 0)) {
    complainOnce("clock", "the clock must be a sample position >= 0, got " + position);
    return;
  }
  var inSize = inBuf.framecount();
  var outSize = outBuf.framecount();
  if (inSize <= 0 || outSize <= 0) {
    complainOnce("buffers", "buffer~ " + inName + " or " + outName + " is missing or empty");
    return;
  }
  if (c < now) {
    // [count~] restarted (audio switched off and on): a new timeline, for the worker too.
    reset();
    outlet(0, "restart");
  }
  if (sentUntil < 0) {
    sentUntil = Math.max(0, c - guardFrames);
    clearedUntil = c;
  }
  advance = now >= 0 ? c - now : 0;
  now = c;
  sendInput(c - guardFrames, inSize);
  if (c > clearedUntil) {
    zeroRing(outBuf, clearedUntil, c - clearedUntil);
    clearedUntil = c;
  }
  outlet(0, "clock", c);
}

function sendInput(end, inSize) {
  var behind = end - sentUntil;
  if (behind > inSize - guardFrames) {
    // the ring has wrapped over input we never sent: skip it (the worker fills the gap with silence)
    var lost = behind - (inSize - guardFrames);
    sentUntil += lost;
    outlet(0, "skipped", lost);
  }
  var ch = inBuf.channelcount();
  while (sentUntil < end) {
    var n = Math.min(chunkFrames, end - sentUntil);
    var samples = interleave(readRing(inBuf, sentUntil, n));
    outlet(0, ["audio", sentUntil, ch].concat(samples));
    sentUntil += n;
  }
}

/** Output audio from node.script: `generated <index> <channels> <interleaved samples...>`. */
function generated() {
  var args = Array.prototype.slice.call(arguments);
  var index = args[0];
  var ch = args[1];
  var samples = args.slice(2);
  if (typeof index !== "number" || !(index >= 0) || typeof ch !== "number" || ch < 1 || Math.floor(ch) !== ch ||
      samples.length % ch !== 0) {
    error("lmdm.buffer: generated needs <index> <channels> and whole frames, got " + args.length + " atoms\n");
    return;
  }
  index = Math.floor(index);
  var frames = samples.length / ch;
  var outSize = outBuf.framecount();
  if (outSize <= 0 || now < 0) return;
  // Frames up to one tick past the last clock may already have played: count them late rather than guess.
  var range = playable(index, frames, now + advance, outSize, clearedUntil);
  if (range[0] > 0) outlet(0, "late", range[0]);
  if (range[1] < frames) {
    complainOnce("ahead", "output arrived more than the output buffer~ ahead of the clock; " +
      "use a larger buffer~ or a smaller lookahead");
  }
  if (range[1] <= range[0]) return;
  for (var c = 0; c < outBuf.channelcount(); c++) {
    var src = Math.min(c, ch - 1);   // a mono answer fills every output channel
    var part = column(samples, ch, src, range[0], range[1]);
    pokeRing(outBuf, c + 1, index + range[0], part);
  }
}

function pokeRing(buf, channel, start, samples) {
  var spans = ringSpans(start, samples.length, buf.framecount());
  var done = 0;
  for (var s = 0; s < spans.length; s++) {
    buf.poke(channel, spans[s][0], samples.slice(done, done + spans[s][1]));
    done += spans[s][1];
  }
}

/** Forget the timeline (the next clock starts a new one) and silence the output ring. */
function reset() {
  sentUntil = -1;
  now = -1;
  advance = 0;
  if (outBuf.framecount() > 0) zeroRing(outBuf, 0, outBuf.framecount());
}

function guard(frames) {
  guardFrames = Math.max(0, Math.floor(frames));
}

function chunk(frames) {
  chunkFrames = Math.max(16, Math.min(8192, Math.floor(frames)));
}
