"""Static checks of the Max package's patchers (Max cannot run here): every .maxpat/.maxhelp parses as JSON; every
patchline joins existing boxes within their inlet/outlet counts; every object is a Max built-in listed below (with the
counts Max gives it) or shipped by the package; v8 boxes match their script's `inlets`/`outlets`; parameters and OSC
addresses the patches send exist in the worker's table; package-info.json and package.json are what Max and npm
expect."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

import pytest

from bridge import params

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "patches/max/lmdm"
PATCH_FILES = sorted(p for p in PKG.rglob("*") if p.suffix in (".maxpat", ".maxhelp"))

Counts = tuple[int, int]


def _fixed(inlets: int, outlets: int) -> Callable[[list[str]], Counts]:
    return lambda args: (inlets, outlets)


def _per_arg(extra_in: int, extra_out: int, default: int = 1) -> Callable[[list[str]], Counts]:
    """route-like objects: one outlet (and, in Max 8+, one inlet) per argument plus one."""
    def counts(args: list[str]) -> Counts:
        n = len([a for a in args if not a.startswith("@")]) or default
        return n + extra_in, n + extra_out
    return counts


# The Max built-ins the package relies on: object name -> (inlets, outlets) for its arguments, as Max 8/9 create them.
BUILTINS: dict[str, Callable[[list[str]], Counts]] = {
    # MSP
    "count~": _fixed(2, 1), "%~": _fixed(2, 1), "*~": _fixed(2, 1), "poke~": _fixed(3, 0), "index~": _fixed(2, 1),
    "snapshot~": _fixed(2, 1), "buffer~": _fixed(1, 2), "dspstate~": _fixed(1, 4), "cycle~": _fixed(2, 1),
    "sig~": _fixed(1, 1), "adc~": lambda a: (1, max(1, len(a))), "dac~": lambda a: (max(1, len(a)), 0),
    # Max
    "metro": _fixed(2, 1), "loadbang": _fixed(1, 1), "loadmess": _fixed(1, 1), "prepend": _fixed(1, 1),
    "route": _per_arg(1, 1), "routepass": _per_arg(1, 1), "trigger": _per_arg(0, 0, 2), "t": _per_arg(0, 0, 2),
    "unpack": _per_arg(0, 0, 2), "print": _fixed(1, 0), "scale": _fixed(6, 1), "slide": _fixed(3, 1),
    "udpreceive": _fixed(1, 1), "udpsend": _fixed(1, 0), "node.script": _fixed(1, 2),
    "v8": None,   # from the script's `inlets` / `outlets`, checked below
    "p": None,    # a subpatcher: its own inlet/outlet boxes
}
# UI and structural box classes (maxclass other than "newobj").
BOX_CLASSES: dict[str, Counts] = {
    "comment": (1, 0), "message": (2, 1), "inlet": (0, 1), "outlet": (1, 0), "toggle": (1, 1), "button": (1, 1),
    "number": (1, 2), "flonum": (1, 2), "ezdac~": (2, 0), "ezadc~": (1, 2), "panel": (1, 0),
}


def _load(path: Path) -> dict:
    return json.loads(path.read_text())


def _script_io(name: str) -> Counts:
    text = (PKG / "javascript" / name).read_text()
    inlets = re.search(r"^inlets\s*=\s*(\d+);", text, re.M)
    outlets = re.search(r"^outlets\s*=\s*(\d+);", text, re.M)
    assert inlets and outlets, f"{name} declares no inlets/outlets"
    return int(inlets.group(1)), int(outlets.group(1))


def _io_boxes(patcher: dict) -> Counts:
    classes = [b["box"]["maxclass"] for b in patcher["boxes"]]
    return classes.count("inlet"), classes.count("outlet")


def _package_abstractions() -> dict[str, Counts]:
    return {p.stem: _io_boxes(_load(p)["patcher"]) for p in (PKG / "patchers").glob("*.maxpat")}


def _expected(box: dict, abstractions: dict[str, Counts]) -> Counts:
    cls = box["maxclass"]
    if cls != "newobj":
        assert cls in BOX_CLASSES, f"{box['id']}: box class {cls!r} is not in the list of built-ins this test knows"
        return BOX_CLASSES[cls]
    words = box["text"].split()
    name, args = words[0], words[1:]
    if name in abstractions:
        return abstractions[name]
    assert name in BUILTINS, f"{box['id']}: object {name!r} is neither a known Max built-in nor shipped by lmdm"
    if name == "v8":
        assert (PKG / "javascript" / args[0]).is_file(), f"v8 script {args[0]} is not in the package"
        return _script_io(args[0])
    if name == "p":
        return _io_boxes(box["patcher"])
    return BUILTINS[name](args)


def _patchers(patcher: dict, where: str):
    yield where, patcher
    for b in patcher["boxes"]:
        if "patcher" in b["box"]:
            yield from _patchers(b["box"]["patcher"], f"{where}/{b['box'].get('text', b['box']['id'])}")


@pytest.mark.parametrize("path", PATCH_FILES, ids=lambda p: p.name)
def test_patch_is_consistent(path: Path) -> None:
    top = _load(path)
    assert top["patcher"]["fileversion"] == 1
    abstractions = _package_abstractions()
    for where, patcher in _patchers(top["patcher"], path.name):
        boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
        assert len(boxes) == len(patcher["boxes"]), f"{where}: duplicate box ids"
        for box in boxes.values():
            want = _expected(box, abstractions)
            assert (box["numinlets"], box["numoutlets"]) == want, f"{where} {box['id']} {box.get('text', '')}"
            assert len(box.get("outlettype", [])) == box["numoutlets"], f"{where} {box['id']}: outlettype"
            assert len(box["patching_rect"]) == 4
        for line in patcher["lines"]:
            (src, out), (dst, inl) = line["patchline"]["source"], line["patchline"]["destination"]
            assert src in boxes and dst in boxes, f"{where}: a line joins missing boxes {src} -> {dst}"
            assert 0 <= out < boxes[src]["numoutlets"], f"{where}: {src} has no outlet {out}"
            assert 0 <= inl < boxes[dst]["numinlets"], f"{where}: {dst} has no inlet {inl}"


def _all_texts() -> list[tuple[str, str]]:
    out = []
    for path in PATCH_FILES:
        for _, patcher in _patchers(_load(path)["patcher"], path.name):
            out += [(path.name, b["box"].get("text", "")) for b in patcher["boxes"]]
    return out


def test_parameters_named_in_patches_exist() -> None:
    """`param NAME` and OSC `/lmdm/NAME` in the patches name parameters the worker knows (bridge/params.py)."""
    named = []
    for where, text in _all_texts():
        named += [(where, m) for m in re.findall(r"\bparam (\w+)", text)]
        named += [(where, m) for m in re.findall(r"/lmdm/(\w+)", text)]
    assert len(named) >= 8, "the examples set parameters"
    unknown = [(w, n) for w, n in named if n not in params.SPECS]
    assert not unknown, unknown


def test_help_has_tabs() -> None:
    helps = list((PKG / "help").glob("*.maxhelp"))
    assert helps
    for path in helps:
        top = _load(path)["patcher"]
        tabs = [b["box"] for b in top["boxes"] if b["box"].get("patcher", {}).get("showontab") == 1]
        assert len(tabs) >= 3, f"{path.name} has {len(tabs)} tabs"
        assert path.stem in _package_abstractions(), "a help file is named after the object it documents"


def test_examples_use_the_abstraction() -> None:
    examples = sorted((PKG / "examples").glob("*.maxpat"))
    assert {p.stem for p in examples} >= {"lmdm.delay", "lmdm.text2music", "lmdm.jam", "lmdm.sensors"}
    for path in examples:
        texts = [t for w, t in _all_texts() if w == path.name]
        assert any(t.split()[:1] == ["lmdm.bridge"] for t in texts if t), f"{path.name} has no [lmdm.bridge]"


def test_package_files() -> None:
    info = _load(PKG / "package-info.json")
    for key in ("name", "version", "author", "description", "max_version_min", "homepatcher"):
        assert info.get(key), f"package-info.json lacks {key}"
    assert (PKG / "help" / info["homepatcher"]).is_file()
    pkg = _load(PKG / "javascript/package.json")
    deps = pkg["dependencies"]
    assert re.fullmatch(r"6\.\d+\.\d+", deps["zeromq"]) and re.fullmatch(r"3\.\d+\.\d+", deps["@msgpack/msgpack"]), (
        "dependencies are pinned to exact versions")
    lock = _load(PKG / "javascript/package-lock.json")
    assert lock["packages"]["node_modules/zeromq"]["version"] == deps["zeromq"]
    assert lock["packages"]["node_modules/@msgpack/msgpack"]["version"] == deps["@msgpack/msgpack"]


def test_abstraction_rings_agree() -> None:
    """Inside [lmdm.bridge]: the clock wraps at the size the buffer~s are given, and the v8 script, poke~ and index~
    name the buffer~s that exist, with the channels they have."""
    patcher = _load(PKG / "patchers/lmdm.bridge.maxpat")["patcher"]
    texts = [b["box"].get("text", "") for b in patcher["boxes"] if b["box"]["maxclass"] in ("newobj", "message")]
    wraps = {int(t.split()[1]) for t in texts if t.startswith("%~ ")}
    sizes = {int(t.split()[2]) for t in texts if t.startswith("loadmess sizeinsamps ")}
    assert len(wraps) == 1 and wraps == sizes, (wraps, sizes)
    buffers = {t.split()[1]: int(t.split()[3]) for t in texts if t.startswith("buffer~ ")}
    v8 = next(t for t in texts if t.startswith("v8 ")).split()
    assert v8[1] == "lmdm.buffer.js" and set(v8[2:4]) == set(buffers), (v8, buffers)
    for t in texts:
        if t.startswith(("poke~ ", "index~ ")):
            name, channel = t.split()[1], int(t.split()[2])
            assert name in buffers and 1 <= channel <= buffers[name], t
    pokes = [t for t in texts if t.startswith("poke~ ")]
    assert {t.split()[1] for t in pokes} == {v8[2]}, "poke~ writes the ring the v8 script reads"


def test_sensor_scaling_stays_in_range() -> None:
    """In the sensors example every [scale] -> [slide] -> [prepend /lmdm/NAME] chain maps onto NAME's range."""
    patcher = _load(PKG / "examples/lmdm.sensors.maxpat")["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    nxt = {}
    for line in patcher["lines"]:
        nxt.setdefault(line["patchline"]["source"][0], []).append(line["patchline"]["destination"][0])
    chains = 0
    for bid, box in boxes.items():
        if not box.get("text", "").startswith("scale "):
            continue
        lo, hi = (float(v) for v in box["text"].split()[3:5])
        seen, todo, targets = set(), list(nxt.get(bid, [])), []
        while todo:
            cur = todo.pop()
            if cur in seen:
                continue
            seen.add(cur)
            m = re.match(r"prepend /lmdm/(\w+)$", boxes[cur].get("text", ""))
            if m:
                targets.append(m.group(1))
            else:
                todo += nxt.get(cur, [])
        assert len(targets) == 1, f"{box['text']} reaches {targets}"
        spec = params.SPECS[targets[0]]
        assert spec.lo <= min(lo, hi) and max(lo, hi) <= spec.hi, f"{box['text']} -> {targets[0]} {spec.lo}..{spec.hi}"
        chains += 1
    assert chains >= 3


@pytest.mark.parametrize("name", ["lmdm.delay", "lmdm.jam"])
def test_live_examples_offer_short_blocks(name: str) -> None:
    """The live-playing examples send `block_size short` / `block_size long` into [lmdm.bridge]'s control inlet,
    with a comment saying what short costs and needs."""
    patcher = _load(PKG / "examples" / f"{name}.maxpat")["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in patcher["boxes"]}
    bridge = next(i for i, b in boxes.items() if b.get("text", "").split()[:1] == ["lmdm.bridge"])
    into_bridge = {boxes[ln["patchline"]["source"][0]].get("text") for ln in patcher["lines"]
                   if ln["patchline"]["destination"] == [bridge, 2]}
    assert {"block_size short", "block_size long"} <= into_bridge, into_bridge
    comments = [b["text"] for b in boxes.values() if b["maxclass"] == "comment"]
    assert any("short" in c and "lower latency" in c and "trained" in c for c in comments), comments
