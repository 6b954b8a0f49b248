"""SoundFont files (SF2, and SF3 = SF2 with Ogg Vorbis samples): list presets, write a subset holding only some.

A SoundFont is a RIFF `sfbk` file: `INFO` (names), `sdta/smpl` (sample data) and `pdta`, nine tables of fixed-size
records that point into each other by index: preset headers `phdr` -> preset zones `pbag` -> preset modulators `pmod`
and generators `pgen` (generator 41 names an instrument) -> `inst` -> `ibag` -> `imod`/`igen` (generator 53 names a
sample) -> `shdr`. Every table ends with a terminal record. In SF2, `shdr` start/end/loop are sample indices into the
16-bit `smpl`; in SF3 (MuseScore's format, sample type flag 0x10) start/end are byte offsets of one Ogg stream in `smpl`
and the loop points count decoded samples from the sample's own start, so a subset copies each stream and only moves
start/end.

`subset` keeps the presets asked for, the instruments and samples they use (plus stereo partners) and renumbers the
indices; everything inside a record is copied, so the synth sees the same zones and plays the same audio. The upload to
the GPU machine (at most 64 MiB a call) is why: MuseScore_General_Lite.sf3 is 39 MB, the presets a build uses fit in
less (`lmdm data soundfont-subset`).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

GEN_INSTRUMENT = 41
GEN_SAMPLE_ID = 53
VORBIS = 0x10                 # sample type flag of SF3 (Ogg Vorbis) samples
SF2_PAD = 46                  # zero samples the SF2 spec asks for after each sample
DRUM_BANK = 128

# Record layouts (little endian) of the pdta tables.
PHDR = struct.Struct("<20sHHHIII")
BAG = struct.Struct("<HH")
MOD = struct.Struct("<HHhHH")
GEN = struct.Struct("<HH")
INST = struct.Struct("<20sH")
SHDR = struct.Struct("<20sIIIIIBbHH")
PDTA = ("phdr", "pbag", "pmod", "pgen", "inst", "ibag", "imod", "igen", "shdr")
SIZES = {"phdr": PHDR.size, "pbag": BAG.size, "pmod": MOD.size, "pgen": GEN.size, "inst": INST.size,
         "ibag": BAG.size, "imod": MOD.size, "igen": GEN.size, "shdr": SHDR.size}


class SoundFontError(ValueError):
    """Not a SoundFont this module can read, or a preset that is not in it."""


@dataclass
class SoundFont:
    info: bytes                          # the INFO list's body (after "INFO"), copied as is
    smpl: bytes                          # sample data (16-bit PCM for SF2, concatenated Ogg streams for SF3)
    tables: dict[str, list[tuple]]       # pdta table -> records (terminal record included)

    @property
    def presets(self) -> list[tuple[int, int, str]]:
        """(bank, program, name) of every preset, terminal record excluded."""
        return [(bank, prog, _name(name)) for name, prog, bank, *_ in self.tables["phdr"][:-1]]


def _name(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1")


def _chunks(data: bytes, start: int, end: int):
    """(id, body start, body end) of the RIFF chunks in data[start:end]. RIFF pads odd bodies to even length, but
    MuseScore's SF3 writer does not (its sdta is odd-sized and pdta follows at once): a pad byte is skipped only when
    it is a zero."""
    pos = start
    while pos + 8 <= end:
        cid, size = data[pos:pos + 4].decode("latin-1"), struct.unpack_from("<I", data, pos + 4)[0]
        yield cid, pos + 8, pos + 8 + size
        pos += 8 + size
        if size & 1 and pos < end and data[pos] == 0:
            pos += 1


def read(path: str | Path) -> SoundFont:
    """Parse an SF2/SF3 file."""
    data = Path(path).read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"sfbk":
        raise SoundFontError(f"{path} is not a SoundFont (no RIFF sfbk header)")
    lists = {}
    for cid, a, b in _chunks(data, 12, len(data)):
        if cid == "LIST":
            lists[data[a:a + 4].decode("latin-1")] = (a + 4, b)
    if set(lists) != {"INFO", "sdta", "pdta"}:
        raise SoundFontError(f"{path}: expected INFO, sdta and pdta lists, found {sorted(lists)}")
    smpl = b""
    for cid, a, b in _chunks(data, *lists["sdta"]):
        if cid == "smpl":
            smpl = data[a:b]
    layouts = {"phdr": PHDR, "pbag": BAG, "pmod": MOD, "pgen": GEN, "inst": INST, "ibag": BAG, "imod": MOD,
               "igen": GEN, "shdr": SHDR}
    tables = {}
    for cid, a, b in _chunks(data, *lists["pdta"]):
        if cid in layouts:
            rec = layouts[cid]
            if (b - a) % rec.size:
                raise SoundFontError(f"{path}: {cid} is {b - a} bytes, not a multiple of {rec.size}")
            tables[cid] = [rec.unpack_from(data, off) for off in range(a, b, rec.size)]
    missing = [t for t in PDTA if t not in tables]
    if missing:
        raise SoundFontError(f"{path}: pdta lacks {missing}")
    info_a, info_b = lists["INFO"]
    return SoundFont(data[info_a:info_b], smpl, tables)



def _referenced(t: dict, level: str, bag_ranges: list[tuple[int, int]], oper_wanted: int) -> dict[int, int]:
    """Ids that the `oper_wanted` generator of the zones in `bag_ranges` points at (level "p": presets -> instruments,
    "i": instruments -> samples), each mapped to its first-use position."""
    used: dict[int, int] = {}
    for start, end in bag_ranges:
        for gens, _ in _zones(t[level + "bag"], start, end, t[level + "gen"], t[level + "mod"]):
            for oper, amount in gens:
                if oper == oper_wanted:
                    used.setdefault(amount, len(used))
    return used

def _zones(bags: list[tuple], start: int, stop: int, gens: list[tuple], mods: list[tuple]):
    """The (generators, modulators) record slices of zones start..stop-1 of a bag table."""
    for z in range(start, stop):
        yield gens[bags[z][0]:bags[z + 1][0]], mods[bags[z][1]:bags[z + 1][1]]


def _is_vorbis(sf: SoundFont) -> bool:
    return any(rec[9] & VORBIS for rec in sf.tables["shdr"][:-1])


def subset(sf: SoundFont, keep: set[tuple[int, int]]) -> SoundFont:
    """A SoundFont holding only the presets (bank, program) in `keep` (absent ones are skipped) and what they use."""
    t = sf.tables
    presets = [i for i, rec in enumerate(t["phdr"][:-1]) if (rec[2], rec[1]) in keep]
    # Instruments the kept presets use, in first-use order, then the samples those use (and their stereo partners).
    used_inst = _referenced(t, "p", [(t["phdr"][p][3], t["phdr"][p + 1][3]) for p in presets], GEN_INSTRUMENT)
    used_smp = _referenced(t, "i", [(t["inst"][i][1], t["inst"][i + 1][1]) for i in used_inst], GEN_SAMPLE_ID)
    wanted = set(used_smp)
    for s in list(wanted):
        link, kind = t["shdr"][s][8], t["shdr"][s][9]
        if kind & 0x0E and link < len(t["shdr"]) - 1:        # right/left/linked sample: keep its partner
            wanted.add(link)
    # tinysoundfont decodes SF3 streams back to back and its interpolation reads one value past a sample's end, which
    # is the next sample's first: keeping file order and each kept sample's successor keeps the audio bit-exact.
    wanted |= {s + 1 for s in wanted if s + 1 < len(t["shdr"]) - 1}
    used_smp = {s: k for k, s in enumerate(sorted(wanted))}

    def rebuild(headers, order, bags, gens, mods, ref_oper, ref_map, bag_at):
        """Headers (terminal appended) and bag/gen/mod tables of the chosen entries, references renumbered."""
        out_h, out_b, out_g, out_m = [], [], [], []
        for idx in order:
            rec = headers[idx]
            out_h.append(rec[:bag_at] + (len(out_b),) + rec[bag_at + 1:])
            for zg, zm in _zones(bags, rec[bag_at], headers[idx + 1][bag_at], gens, mods):
                out_b.append((len(out_g), len(out_m)))
                out_g += [(o, ref_map[a]) if o == ref_oper else (o, a) for o, a in zg]
                out_m += list(zm)
        end = headers[-1]
        out_h.append(end[:bag_at] + (len(out_b),) + end[bag_at + 1:])
        out_b.append((len(out_g), len(out_m)))
        out_g.append(gens[-1])
        out_m.append(mods[-1])
        return out_h, out_b, out_g, out_m

    phdr, pbag, pgen, pmod = rebuild(t["phdr"], presets, t["pbag"], t["pgen"], t["pmod"], GEN_INSTRUMENT, used_inst, 3)
    inst, ibag, igen, imod = rebuild(t["inst"], sorted(used_inst, key=used_inst.get), t["ibag"], t["igen"], t["imod"],
                                     GEN_SAMPLE_ID, used_smp, 1)
    shdr, smpl = _copy_samples(sf, sorted(used_smp, key=used_smp.get), used_smp)
    tables = {"phdr": phdr, "pbag": pbag, "pmod": pmod, "pgen": pgen, "inst": inst, "ibag": ibag, "imod": imod,
              "igen": igen, "shdr": shdr}
    return SoundFont(sf.info, smpl, tables)


def _copy_samples(sf: SoundFont, order: list[int], new_index: dict[int, int]) -> tuple[list[tuple], bytes]:
    """The chosen sample headers and their data, packed in order. SF3 streams move as bytes with their loops (relative
    to the stream) unchanged; SF2 samples move as 16-bit words with all four points and the 46-sample pad."""
    vorbis = _is_vorbis(sf)
    shdr, parts, pos = [], [], 0
    if vorbis and not all(sf.tables["shdr"][s][9] & VORBIS for s in order):
        raise SoundFontError("an SF3 with uncompressed samples beside Ogg ones is not supported")
    for s in order:
        name, start, end, lstart, lend, rate, pitch, corr, link, kind = sf.tables["shdr"][s]
        if vorbis:
            chunk = sf.smpl[start:end]
            new = (name, pos, pos + len(chunk), lstart, lend, rate, pitch, corr, new_index.get(link, 0), kind)
            pos += len(chunk)
        else:
            chunk = sf.smpl[2 * start:2 * end] + b"\0" * (2 * SF2_PAD)
            base = pos // 2
            new = (name, base, base + end - start, base + lstart - start, base + lend - start, rate, pitch, corr,
                   new_index.get(link, 0), kind)
            pos += len(chunk)
        parts.append(chunk)
        shdr.append(new)
    shdr.append(sf.tables["shdr"][-1])
    return shdr, b"".join(parts)


def _chunk(cid: str, body: bytes) -> bytes:
    if len(body) & 1:   # written even-sized, so readers that pad and readers that do not agree
        body += b"\0"
    return cid.encode("latin-1") + struct.pack("<I", len(body)) + body


def write(sf: SoundFont, path: str | Path) -> int:
    """Write sf as a RIFF sfbk file; returns its size in bytes."""
    layouts = {"phdr": PHDR, "pbag": BAG, "pmod": MOD, "pgen": GEN, "inst": INST, "ibag": BAG, "imod": MOD,
               "igen": GEN, "shdr": SHDR}
    pdta = b"pdta" + b"".join(_chunk(t, b"".join(layouts[t].pack(*r) for r in sf.tables[t])) for t in PDTA)
    body = b"sfbk" + _chunk("LIST", b"INFO" + sf.info) + _chunk("LIST", b"sdta" + _chunk("smpl", sf.smpl)) \
        + _chunk("LIST", pdta)
    data = b"RIFF" + struct.pack("<I", len(body)) + body
    Path(path).write_bytes(data)
    return len(data)


def write_subset(src: str | Path, dst: str | Path, keep: set[tuple[int, int]]) -> tuple[int, list[tuple[int, int]]]:
    """Write the presets `keep` of src to dst; returns (bytes written, the presets asked for that src lacks)."""
    sf = read(src)
    have = {(b, p) for b, p, _ in sf.presets}
    return write(subset(sf, keep), dst), sorted(keep - have)


def build_presets() -> set[tuple[int, int]]:
    """(bank, program) of every preset a data build asks for: the corpus ensembles and the generator's instruments
    and kits, plus the standard kit (program 0 on the drum channel)."""
    from lmdm_core.data import captions, generator

    corpus = {(0, p) for members in captions.ENSEMBLES.values() for p, _ in members}
    return corpus | generator.programs() | {(DRUM_BANK, 0)}
