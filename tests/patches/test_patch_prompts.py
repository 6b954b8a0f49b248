"""Every prompt a shipped Pd or Max patch offers is one the shipped model (lmdm_core/weights) understands word for word,
and every patch says in a comment what to expect to hear. The vocabulary comes from the shipped checkpoint itself, so
a new model with other words fails this until the patches follow."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from lmdm_core.checkpoint import read_checkpoint
from lmdm_core.pipeline import WEIGHTS_DIR
from lmdm_core.text import not_understood
from scripts.maxpat import package_files, read

ROOT = Path(__file__).resolve().parents[2]
PD_PATCHES = sorted((ROOT / "patches/pd").glob("*.pd"))
MAX_PATCHES = package_files()
# `prompt ...` / `prompt_b ...` (Pd, Max's control inlet) and `param prompt ...` (Max's parameter message)
PROMPT = re.compile(r"^(?:param )?(prompt|prompt_b) (.+)$")


@pytest.fixture(scope="module")
def vocab() -> set[str]:
    text = read_checkpoint(WEIGHTS_DIR).configs["text"]
    assert text.kind == "words" and len(text.vocab) > 100, text.kind
    return set(text.vocab)


def pd_records(path: Path) -> list[tuple[str, str]]:
    """(kind, text) of each box of a Pd patch, with Pd's escapes undone."""
    out = []
    for rec in path.read_text().split(";\n"):
        m = re.match(r"#X (msg|text|obj) -?\d+ -?\d+ ?(.*)", rec.strip(), re.S)
        if m:
            text = re.sub(r", f \d+$", "", m.group(2)).replace("\\,", ",").replace("\\;", ";").replace("\\$", "$")
            out.append((m.group(1), " ".join(text.split())))
    return out


def offered() -> list[tuple[str, str, str]]:
    """(patch, selector, prompt) for every prompt message box of the shipped patches."""
    found = []
    for path in PD_PATCHES:
        found += [(path.name, *m.groups()) for kind, t in pd_records(path) if kind == "msg" and (m := PROMPT.match(t))]
    for path in MAX_PATCHES:
        for pat in read(path).walk():
            found += [(pat.where, *m.groups()) for b in pat.boxes if b.maxclass == "message"
                      and (m := PROMPT.match(b.text.strip()))]
    return found


def test_the_patches_offer_prompts():
    patches = {p.split("/")[0] for p, _, _ in offered()}
    assert {"lmdm~-help.pd", "text-to-music.pd", "jam.pd", "sketch.pd", "generative-delay.pd"} <= patches, patches
    assert {"lmdm.text2music.maxpat", "lmdm.bridge.maxhelp"} <= patches, patches


@pytest.mark.parametrize("where,selector,prompt", offered(), ids=lambda v: v if isinstance(v, str) else None)
def test_prompt_is_understood_by_the_shipped_model(vocab, where: str, selector: str, prompt: str):
    unknown = not_understood(prompt, vocab)
    assert not unknown, f"{where}: [{selector} {prompt}( has words the shipped model skips: {unknown}"


def _comments_pd(path: Path) -> list[str]:
    return [t for kind, t in pd_records(path) if kind == "text"]


def _comments_max(path: Path) -> list[str]:
    return [b.text for pat in read(path).walk() for b in pat.boxes if b.maxclass == "comment"]


@pytest.mark.parametrize("path", PD_PATCHES + [p for p in MAX_PATCHES if "examples" in p.parts or p.suffix == ".maxhelp"],
                         ids=lambda p: p.name)
def test_patch_says_what_to_expect_to_hear(path: Path):
    comments = _comments_pd(path) if path.suffix == ".pd" else _comments_max(path)
    assert any(c.lower().startswith("you hear") for c in comments), f"{path.name}: no 'You hear ...' comment"


def test_not_understood_names_the_unknown_words():
    vocab = {"warm", "synth", "pad", "hip", "hop"}
    assert not_understood("Warm synth pad", vocab) == []
    assert not_understood("warm analog synth pads", vocab) == ["analog", "pads"]
    assert not_understood("hip-hop lo-fi", vocab) == ["lo", "fi"]   # known parts of a hyphenated word count
