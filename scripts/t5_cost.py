"""What T5 costs the worker: the time of one new prompt through a T5-base-shaped encoder (random weights, the real
shapes: d_model 768, 12 layers, 12 heads, d_ff 3072, vocab 32128) at SAOS's 64 tokens, and of loading it from disk.

    python scripts/t5_cost.py [--device cpu] [--threads 2] [--repeats 10]

Encoding happens on the engine thread when a prompt or blend needs a prompt it has not seen (lmdm_core/t5.py
remembers the last 32), so it is a one-off stall of that size per new prompt, not a per-block cost."""
from __future__ import annotations

import tempfile
import time

import click
import torch


@click.command()
@click.option("--device", default="cpu", show_default=True)
@click.option("--threads", default=2, show_default=True, help="torch intra-op threads (CPU)")
@click.option("--repeats", default=10, show_default=True)
def main(device: str, threads: int, repeats: int) -> None:
    from transformers import T5Config, T5EncoderModel

    from lmdm_core.t5 import T5

    torch.set_num_threads(threads)
    with tempfile.TemporaryDirectory() as d:
        torch.manual_seed(0)
        cfg = T5Config(vocab_size=32128, d_model=768, d_kv=64, d_ff=3072, num_layers=12, num_heads=12)
        T5EncoderModel(cfg).save_pretrained(d)
        _tokenizer(d)
        t5 = T5(d, max_length=64)
        t0 = time.perf_counter()
        t5.load(device)
        load = time.perf_counter() - t0
        times = []
        for i in range(repeats + 1):
            t0 = time.perf_counter()
            t5.encode([f"prompt {i}: warm analog pad with slow strings and a soft kick"], device)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t0)
    times = sorted(times[1:])
    click.echo(f"T5-base shape on {device} ({threads} threads): load {load:.2f} s, new prompt "
               f"median {1000 * times[len(times) // 2]:.1f} ms (min {1000 * times[0]:.1f}), "
               f"remembered prompt ~0 ms")


def _tokenizer(folder: str) -> None:
    """A small unigram tokenizer (t5-base's cannot be downloaded here; its size does not change the encoder cost)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import T5TokenizerFast

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    tok.train_from_iterator(["warm analog pad with slow strings and a soft kick prompt"] * 10,
                            trainers.UnigramTrainer(vocab_size=60, special_tokens=["<pad>", "</s>", "<unk>"],
                                                    unk_token="<unk>"))
    T5TokenizerFast(tokenizer_object=tok, eos_token="</s>", pad_token="<pad>", unk_token="<unk>",
                    extra_ids=0).save_pretrained(folder)


if __name__ == "__main__":
    main()
