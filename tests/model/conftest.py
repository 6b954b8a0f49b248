"""Shared by the tests/model tests (models, checkpoints, text encoders, the SAOS conversion)."""
from __future__ import annotations

import pytest
import torch


from tests.threads import one_thread  # noqa: E402,F401  (autouse: one torch thread per module)


T5_CORPUS = ["warm strings with a slow pulse", "dark techno with heavy kick drums", "bright piano arpeggios",
             "chill lo-fi beats, laid-back drums, jazzy chords, 90 BPM, lowpass filter"]


def save_tiny_t5(folder, layers: int = 2, seed: int = 0):
    """A random T5 encoder of t5-base's width (d_model 768) and a small unigram tokenizer trained here, saved as
    a hub copy would be (save_pretrained): it stands in for t5-base, which cannot be downloaded here."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import T5Config, T5EncoderModel, T5TokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.decoder = decoders.Metaspace()
    tok.train_from_iterator(T5_CORPUS * 10, trainers.UnigramTrainer(
        vocab_size=120, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>"))
    T5TokenizerFast(tokenizer_object=tok, eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
                    extra_ids=0).save_pretrained(folder)
    torch.manual_seed(seed)
    cfg = T5Config(vocab_size=tok.get_vocab_size(), d_model=768, d_kv=64, d_ff=256, num_layers=layers, num_heads=12)
    model = T5EncoderModel(cfg).eval()
    with torch.no_grad():   # fp16 values (in fp32): the reference casts T5 to fp16, and then loses nothing
        for p in model.parameters():
            p.copy_(p.half().float())
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_t5_dir(tmp_path_factory):
    pytest.importorskip("transformers", reason="T5 conditioning needs the t5 extra (scripts/install.sh --test)")
    return str(save_tiny_t5(tmp_path_factory.mktemp("tiny-t5")))
