"""Text conditioning: prompts -> cross-attention tokens, plus which words the model understood.

Interface (both encoders): `encode(prompts) -> (tokens [B, N, D], mask [B, N] bool, understood)`, N = max_tokens,
`understood[b]` = the words of prompt b the encoder knows, so the player can be told what the model took in.

- `WordEncoder` ("words", the default): lower-cased simple tokenisation, a learned embedding per known word plus a
  learned position embedding; its vocabulary is part of TextConfig and so of the checkpoint JSON. Token 0 is a learned
  start token, always present, so the mask never is all False (cross-attention over nothing would give NaN).
  Unknown words are skipped and not understood.
- `T5Encoder` ("t5"): precomputed T5-base embeddings ([n, 768] per prompt, looked up by normalised prompt), for SAOS
  weights; the model cannot run T5 itself here, so a prompt is understood whole or not at all.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping

import numpy as np
import torch
from torch import nn

from lmdm_core.config import TextConfig

# A trailing '#' stays on the word: captions name keys "F# major", "C# minor", which must not read as F or C.
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*#?")

# Starting vocabulary for an untrained model: genres, instruments, moods, timbre and tempo words.
DEFAULT_VOCAB: tuple[str, ...] = tuple(dict.fromkeys("""
ambient techno house trance dubstep drum bass jungle breakbeat garage hip hop trap rap lofi lo-fi jazz swing blues
funk soul disco rock metal punk indie pop folk country classical orchestral cinematic baroque opera gospel reggae dub
ska latin salsa bossa nova samba afrobeat world electronic edm synthwave chiptune idm glitch noise drone minimal
experimental acoustic electric piano keys organ rhodes synth synthesizer pad lead arp arpeggio guitar strings violin
cello viola harp bass double upright kick snare hat hihat hi-hat cymbal percussion drums beat beats clap shaker conga
bongo tabla sitar flute clarinet saxophone sax trumpet horn horns brass trombone choir vocal vocals voice singing
bell bells marimba vibraphone xylophone kalimba accordion harmonica banjo mandolin ukulele
warm cold dark bright happy sad melancholic uplifting energetic calm chill relaxing dreamy ethereal aggressive heavy
soft loud gentle intense epic mellow groovy funky smooth gritty dirty clean lush sparse dense distorted reverb delay
echo filtered detuned analog digital vintage retro modern atmospheric hypnotic driving pulsing rhythmic melodic
harmonic percussive slow fast fast-paced upbeat downtempo midtempo tempo bpm loop groove solo ensemble band
major minor chord chords melody bassline riff sub deep high low
""".split()))


def tokenize(prompt: str) -> list[str]:
    """Lower-case words (letters, digits, inner ' or -, a trailing # for sharp keys) in order."""
    return _WORD.findall(prompt.lower())


def build_vocab(captions: Iterable[str], min_count: int = 1, max_size: int | None = None,
                base: Iterable[str] = ()) -> list[str]:
    """Vocabulary from training captions: `base` words first, then words seen >= min_count times, most frequent first."""
    counts = Counter(w for c in captions for w in tokenize(c))
    vocab = list(dict.fromkeys(base))
    seen = set(vocab)
    for w, c in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        if c >= min_count and w not in seen:
            vocab.append(w)
            seen.add(w)
    return vocab[:max_size] if max_size else vocab


class WordEncoder(nn.Module):
    """Learned word embeddings over a fixed vocabulary; row 0 is the start token."""

    def __init__(self, cfg: TextConfig):
        super().__init__()
        if not cfg.vocab:
            raise ValueError("WordEncoder needs a vocabulary (TextConfig.vocab is empty)")
        if cfg.max_tokens < 2:
            raise ValueError("TextConfig.max_tokens must be >= 2 (start token + one word)")
        self.cfg = cfg
        self.index = {w: i + 1 for i, w in enumerate(cfg.vocab)}
        self.embed = nn.Embedding(len(cfg.vocab) + 1, cfg.dim)
        self.pos = nn.Parameter(torch.randn(cfg.max_tokens, cfg.dim) * 0.02)

    def _words(self, prompt: str) -> list[str]:
        """Known words in order; an unknown hyphenated word falls back to its known parts ("hip-hop" -> hip, hop)."""
        out = []
        for w in tokenize(prompt):
            out += [w] if w in self.index else [p for p in w.split("-") if p in self.index]
        return out

    def known(self, prompt: str) -> list[str]:
        """Words of the prompt in the vocabulary, in order, without repeats."""
        return list(dict.fromkeys(self._words(prompt)))

    def encode(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor, list[list[str]]]:
        n = self.cfg.max_tokens
        ids = torch.zeros(len(prompts), n, dtype=torch.long)
        mask = torch.zeros(len(prompts), n, dtype=torch.bool)
        understood = []
        for b, p in enumerate(prompts):
            words = self._words(p)[: n - 1]
            ids[b, 1: 1 + len(words)] = torch.tensor([self.index[w] for w in words], dtype=torch.long)
            mask[b, : 1 + len(words)] = True
            understood.append(list(dict.fromkeys(words)))
        dev = self.pos.device
        tokens = (self.embed(ids.to(dev)) + self.pos) * mask.to(dev)[..., None]
        return tokens, mask.to(dev), understood


def _prompt_key(prompt: str) -> str:
    return " ".join(prompt.lower().split())


class T5Encoder(nn.Module):
    """Precomputed T5 embeddings: a table prompt -> [n, dim] array; no weights of its own."""

    def __init__(self, cfg: TextConfig, table: Mapping[str, np.ndarray] | None = None):
        super().__init__()
        self.cfg = cfg
        self.table: dict[str, np.ndarray] = {}
        for prompt, emb in (table or {}).items():
            self.add(prompt, emb)

    def add(self, prompt: str, embedding: np.ndarray) -> None:
        emb = np.asarray(embedding, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[1] != self.cfg.dim:
            raise ValueError(f"T5 embedding for {prompt!r} must be [n, {self.cfg.dim}], got {emb.shape}")
        self.table[_prompt_key(prompt)] = emb

    def known(self, prompt: str) -> list[str]:
        return tokenize(prompt) if _prompt_key(prompt) in self.table else []

    def encode_arrays(self, arrays: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        """[n_b, dim] arrays -> zero-padded tokens [B, N, dim] and mask; at least one (zero) token stays unmasked."""
        n = self.cfg.max_tokens
        tokens = torch.zeros(len(arrays), n, self.cfg.dim)
        mask = torch.zeros(len(arrays), n, dtype=torch.bool)
        for b, a in enumerate(arrays):
            a = torch.as_tensor(np.asarray(a, dtype=np.float32))[:n]
            if a.ndim != 2 or a.shape[1] != self.cfg.dim:
                raise ValueError(f"T5 embedding must be [n, {self.cfg.dim}], got {tuple(a.shape)}")
            tokens[b, : a.shape[0]] = a
            mask[b, : max(1, a.shape[0])] = True
        return tokens, mask

    def encode(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor, list[list[str]]]:
        empty = np.zeros((0, self.cfg.dim), np.float32)
        tokens, mask = self.encode_arrays([self.table.get(_prompt_key(p), empty) for p in prompts])
        return tokens, mask, [self.known(p) for p in prompts]


TextEncoder = WordEncoder | T5Encoder


def build_text_encoder(cfg: TextConfig) -> TextEncoder:
    if cfg.kind == "words":
        return WordEncoder(cfg)
    if cfg.kind == "t5":
        return T5Encoder(cfg)
    raise ValueError(f"unknown text encoder kind {cfg.kind!r}; choose 'words' or 't5'")
