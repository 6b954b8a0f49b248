"""T5 through `transformers`, exactly as stable-audio-tools' T5Conditioner runs it (SAOS and LMDM checkpoints).

    tokens = tokenizer(prompts, truncation=True, max_length=L, padding="max_length")
    hidden = T5EncoderModel(input_ids, attention_mask).last_hidden_state          # [B, L, d_model], fp32

The projection after it and the zeroing of pad positions belong to the checkpoint's text module
(text.T5TextEncoder). The T5 weights are not part of a model checkpoint (stable-audio-tools keeps them out of its
state dict too): they are loaded on the first prompt, from local files only - a folder (`lmdm serve --t5 PATH`) or the
Hugging Face cache. A download at run time would stall every stream of the worker (and offline, retry for ~50 s),
so a miss is one `T5Unavailable` line naming the command that fetches the files. The reference casts T5 to fp16;
here it runs in fp32 (fp16 T5 is known to overflow, and fp32 is what the parity tests compare).
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path
from typing import Any

import torch

from lmdm_core.params import ParamError

log = logging.getLogger(__name__)

DEFAULT_T5 = "t5-base"
EXTRA = "pip install 'lmdm[t5]'"       # the optional extra that pins transformers (pyproject.toml)
MEMO = 32                               # prompts whose encoding is kept: blends re-encode both prompts often


class T5Unavailable(ParamError):
    """T5 cannot run here (transformers missing, weights not on disk); the text is one line for the user."""


def download_command(name: str = DEFAULT_T5) -> str:
    """The command that puts a hub T5's encoder, config and tokenizer into the Hugging Face cache (~900 MB for
    t5-base; the hub repo also holds TensorFlow/Flax/ONNX copies nobody here needs)."""
    return f"hf download {name} --include '*.json' --include spiece.model --include model.safetensors"


class T5:
    """Tokenizer + T5EncoderModel from `source` (hub name or local folder), loaded on first use, fp32."""

    def __init__(self, source: str = DEFAULT_T5, max_length: int = 64):
        self.source, self.max_length = str(source), int(max_length)
        self.tokenizer: Any = None
        self.model: Any = None
        self._memo: OrderedDict[str, tuple[torch.Tensor, torch.Tensor]] = OrderedDict()

    @property
    def loaded(self) -> bool:
        return self.model is not None

    def load(self, device: torch.device | str = "cpu") -> None:
        """Load tokenizer and encoder from local files; T5Unavailable with the fix when that cannot be done."""
        if self.loaded:
            self.model.to(device)
            return
        try:
            from transformers import AutoTokenizer, T5EncoderModel
        except ImportError:
            raise T5Unavailable(f"T5 text conditioning needs the transformers package: {EXTRA}") from None
        local = Path(self.source).expanduser()
        if self.source.startswith((".", "/", "~")) and not local.is_dir():
            raise T5Unavailable(f"T5 folder {self.source} does not exist (--t5 takes a folder holding a T5's "
                                f"config.json, model.safetensors and tokenizer files, or a hub name)")
        where = str(local) if local.is_dir() else self.source
        try:
            tokenizer = AutoTokenizer.from_pretrained(where, local_files_only=True)
            model = T5EncoderModel.from_pretrained(where, local_files_only=True, dtype=torch.float32)
        except (OSError, ValueError) as exc:
            log.debug("T5 load from %s failed: %s", where, exc)
            raise T5Unavailable(f"T5 {self.source!r} is not on this machine (lmdm never downloads at run time): "
                                f"fetch it once with `{download_command(self.source)}`, or pass --t5 FOLDER "
                                f"holding a copy") from None
        log.info("T5 loaded from %s (%d layers, d_model %d)", where, model.config.num_layers, model.config.d_model)
        self.tokenizer, self.model = tokenizer, model.to(device).eval().requires_grad_(False)

    @property
    def dim(self) -> int | None:
        return None if self.model is None else int(self.model.config.d_model)

    @torch.no_grad()   # not inference_mode: remembered results may meet autograd later (a trainable proj_out)
    def encode(self, prompts: list[str], device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Prompts -> (last hidden state [B, max_length, d_model] fp32, attention mask [B, max_length] bool).

        Pad positions hold T5's output there (the caller zeroes them after its projection, as the reference does).
        Each prompt's result does not depend on the others (pads are masked out of T5's attention), so prompts are
        encoded once and remembered."""
        todo = list(dict.fromkeys(p for p in prompts if p not in self._memo))
        if todo:
            self.load(device)
            enc = self.tokenizer(todo, truncation=True, max_length=self.max_length, padding="max_length",
                                 return_tensors="pt")
            ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device).bool()
            hidden = self.model(input_ids=ids, attention_mask=mask)["last_hidden_state"].float()
            for i, p in enumerate(todo):
                self._memo[p] = (hidden[i], mask[i])
        for p in prompts:
            self._memo.move_to_end(p)
        out = [self._memo[p] for p in prompts]
        while len(self._memo) > max(MEMO, len(prompts)):
            self._memo.popitem(last=False)
        return torch.stack([h for h, _ in out]).to(device), torch.stack([m for _, m in out]).to(device)
