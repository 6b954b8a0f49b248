"""Text conditioning: prompts -> cross-attention tokens, plus which words the model understood.

Interface (both encoders): `encode(prompts) -> (tokens [B, N, D], mask [B, N] bool, understood)`, N = max_tokens,
`understood[b]` = the words of prompt b the encoder knows, so the player can be told what the model took in.

- `WordEncoder` ("words", the default): lower-cased simple tokenisation, a learned embedding per known word plus a
  learned position embedding; its vocabulary is part of TextConfig and so of the checkpoint JSON. Token 0 is a learned
  start token, always present, so the mask never is all False (cross-attention over nothing would give NaN).
  Unknown words are skipped and not understood.
- `T5Encoder` ("t5"): SAOS / LMDM checkpoints: T5 run through `transformers` exactly as stable-audio-tools'
  T5Conditioner runs it (padding to max_tokens, pads zeroed); T5 reads any text, so every word is understood.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container, Iterable

import torch
from torch import nn

from lmdm_core.config import TextConfig
from lmdm_core.t5 import T5, T5Unavailable

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


def word_parts(word: str, vocab: Container[str]) -> list[str]:
    """What a prompt word stands for in `vocab`: itself when known, else its hyphenated parts ("hip-hop" -> hip, hop)."""
    return [word] if word in vocab else word.split("-")


def not_understood(prompt: str, vocab: Container[str]) -> list[str]:
    """Words of `prompt` a words encoder over `vocab` skips, in order: a patch can check what it offers."""
    return [p for w in tokenize(prompt) for p in word_parts(w, vocab) if p not in vocab]


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
            out += [p for p in word_parts(w, self.index) if p in self.index]
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


class T5Encoder(nn.Module):
    """T5 conditioning as stable-audio-tools' T5Conditioner builds it: T5's last hidden state (lmdm_core/t5.py), the
    checkpoint's projection `proj_out` when it has one, then pad positions zeroed by the attention mask.

    T5's own weights are not part of the checkpoint; they load on the first non-empty prompt from `source` (default:
    the T5 the checkpoint names, TextConfig.t5_model). An empty prompt is the unconditional branch - zero tokens, all
    masked, what classifier-free guidance and the reference's CFG dropout use for "no prompt" - so a stream without a
    prompt never needs T5."""

    def __init__(self, cfg: TextConfig, source: str | None = None):
        super().__init__()
        self.cfg = cfg
        self.width = cfg.t5_dim or cfg.dim        # T5's d_model
        self.proj_out = nn.Linear(self.width, cfg.dim) if cfg.project_out or self.width != cfg.dim else None
        # follows .to(device), so T5 runs where the model does; not saved (no state of its own)
        self.register_buffer("_anchor", torch.zeros(0), persistent=False)
        self.t5 = T5(source or cfg.t5_model, cfg.max_tokens)

    def use(self, source: str) -> None:
        """Load T5 from `source` (a local folder or hub name) instead of the one the checkpoint names."""
        if source != self.t5.source:
            self.t5 = T5(source, self.cfg.max_tokens)

    def known(self, prompt: str) -> list[str]:
        """T5 reads any text: every word of the prompt."""
        return tokenize(prompt)

    def encode(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor, list[list[str]]]:
        n, dev = self.cfg.max_tokens, self._anchor.device
        real = [i for i, p in enumerate(prompts) if p.strip()]
        dtype = torch.float32 if self.proj_out is None else self.proj_out.weight.dtype
        tokens = torch.zeros(len(prompts), n, self.cfg.dim, device=dev, dtype=dtype)
        mask = torch.zeros(len(prompts), n, dtype=torch.bool, device=dev)
        if real:
            hidden, m = self.t5.encode([prompts[i] for i in real], dev)
            if hidden.shape[-1] != self.width:
                raise T5Unavailable(f"T5 {self.t5.source!r} has width {hidden.shape[-1]}; this model takes "
                                    f"{self.cfg.t5_model} tokens of width {self.width}")
            if self.proj_out is not None:
                hidden = self.proj_out(hidden.to(dtype))
            tokens[real] = (hidden * m[..., None]).to(dtype)   # zeroed after the projection, as the reference does
            mask[real] = m
        return tokens, mask, [self.known(p) for p in prompts]


TextEncoder = WordEncoder | T5Encoder


def build_text_encoder(cfg: TextConfig, t5: str | None = None) -> TextEncoder:
    """The encoder a TextConfig names; `t5`: where a "t5" encoder loads T5 from (default: the config's t5_model)."""
    if cfg.kind == "words":
        return WordEncoder(cfg)
    if cfg.kind == "t5":
        return T5Encoder(cfg, t5)
    raise ValueError(f"unknown text encoder kind {cfg.kind!r}; choose 'words' or 't5'")
