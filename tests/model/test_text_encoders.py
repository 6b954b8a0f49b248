"""Text encoders: understood words, unknown words, masks (T5: test_t5.py)."""
from __future__ import annotations

import pytest
import torch

from lmdm_core.config import TextConfig
from lmdm_core.text import DEFAULT_VOCAB, WordEncoder, build_text_encoder, build_vocab, tokenize


@pytest.fixture(scope="module")
def words() -> WordEncoder:
    torch.manual_seed(0)
    return WordEncoder(TextConfig(dim=16, max_tokens=6, vocab=list(DEFAULT_VOCAB)))


def test_tokenize_lowercases_and_splits():
    assert tokenize("Warm STRINGS, lo-fi   hip-hop! 120bpm") == ["warm", "strings", "lo-fi", "hip-hop", "120bpm"]
    # sharp keys keep their '#' (the v2 captions name "F# major"); flats are letters already
    assert tokenize("in F# major, C# minor; Eb, 128 BPM") == ["in", "f#", "major", "c#", "minor", "eb", "128", "bpm"]


def test_understood_and_unknown_words(words):
    tokens, mask, understood = words.encode(["Warm strings and a zorblat", "qwxyz blorp", "hip-hop beat"])
    assert understood == [["warm", "strings"], [], ["hip", "hop", "beat"]]
    assert tokens.shape == (3, 6, 16) and mask.shape == (3, 6) and mask.dtype == torch.bool
    # start token + known words are unmasked; an all-unknown prompt keeps the start token only
    assert mask.sum(1).tolist() == [3, 1, 4]
    assert torch.all(tokens[~mask] == 0)


def test_same_words_same_tokens_different_words_differ(words):
    t, _, _ = words.encode(["dark techno", "DARK   techno zorblat", "bright techno"])
    assert torch.equal(t[0], t[1])
    assert not torch.allclose(t[0], t[2])


def test_long_prompts_are_truncated_to_max_tokens(words):
    _, mask, understood = words.encode([" ".join(["piano"] * 20)])
    assert mask.sum() == 6 and understood == [["piano"]]


def test_word_encoder_needs_a_vocabulary():
    with pytest.raises(ValueError, match="vocabulary"):
        WordEncoder(TextConfig(dim=8, max_tokens=4, vocab=[]))


def test_build_vocab_orders_by_frequency():
    v = build_vocab(["warm pad", "warm bass", "Warm PAD drums"], min_count=2, base=["piano"])
    assert v == ["piano", "warm", "pad"]


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown text encoder kind"):
        build_text_encoder(TextConfig(kind="bert"))
