"""T5 conditioning in streams: prompt changes mid-stream (the cross-attention cache), blends as the LMDM fork mixes
prompts, and a T5 that is not on the machine (AudioStream, `lmdm serve`, `lmdm generate`)."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

from bridge.client import Client, ClientError
from lmdm_core.conditions import Conditions
from lmdm_core.config import SamplerConfig, TextConfig
from lmdm_core.pipeline import AudioStream, LoadedModel, build_model, default_configs
from lmdm_core.streaming import StreamingGenerator
from lmdm_core.t5 import T5Unavailable
from tests.bridge.conftest import LMDM, WorkerProc

pytest.importorskip("transformers", reason="T5 conditioning needs the t5 extra")

A, B = "warm strings with a slow pulse", "dark techno with heavy kick drums"


def t5_model(t5: str) -> LoadedModel:
    """The tiny untrained model with T5 text conditioning (a projection 768 -> the tiny DiT's token width)."""
    configs = default_configs()
    dit = configs["dit"]
    configs["text"] = TextConfig(kind="t5", dim=dit.cond_token_dim, max_tokens=dit.max_cond_tokens, t5_dim=768)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        m = build_model(configs, "tiny with T5")
    m.text.use(t5)
    for mod in (m.dit, m.autoencoder, m.text):
        mod.eval().requires_grad_(False)
    return m


@pytest.fixture(scope="module")
def model(tiny_t5_dir) -> LoadedModel:
    return t5_model(tiny_t5_dir)


def _conditions(m: LoadedModel, prompt: str) -> Conditions:
    tokens, mask, _ = m.text.encode([prompt])
    return Conditions(tokens, mask)


def _stream(m: LoadedModel, cached: bool, change_at: int | None, blocks: int = 6) -> torch.Tensor:
    gen = StreamingGenerator(m.dit, m.stream, SamplerConfig(steps=3, cfg=2.0), mode="block_causal",
                             cached=cached, seed=5)
    gen.set_conditions(_conditions(m, A))
    out = []
    for i in range(blocks):
        if i == change_at:
            gen.set_conditions(_conditions(m, B))
        out.append(gen.next_block())
    return torch.cat(out, dim=2)


def test_a_t5_prompt_change_mid_stream_invalidates_the_cross_attention_cache(model):
    """Cached == uncached across the change: the cache's cross-attention K/V were recomputed for the new prompt."""
    a, b = _stream(model, True, change_at=3), _stream(model, False, change_at=3)
    assert (a - b).abs().max().item() <= 1e-4
    unchanged = _stream(model, True, change_at=None)
    k = 3 * model.stream.block
    assert torch.equal(a[..., :k], unchanged[..., :k])
    assert (a[..., k:] - unchanged[..., k:]).abs().max().item() > 1e-2   # the change is heard from block 3 on


def test_blend_is_the_forks_weighted_t5_mix(model):
    """mix_t5_prompts([(prompt, 1 - blend), (prompt_b, blend)]): weighted sum of the masked embeddings, masks OR-ed."""
    s = AudioStream(model)
    s.set_param("prompt", A)
    s.set_param("prompt_b", "Dark zorblat techno")
    assert s.understood == ["dark", "zorblat", "techno"]      # T5 reads any word
    s.set_param("prompt_b", B)
    s.set_param("blend", 0.25)
    (ta, ma), (tb, mb) = [model.text.encode([p])[:2] for p in (A, B)]
    got = s._conditions()
    torch.testing.assert_close(got.tokens, 0.75 * ta + 0.25 * tb, rtol=0, atol=1e-6)
    assert torch.equal(got.mask, ma | mb)
    s.set_param("blend", 1.0)
    torch.testing.assert_close(s._conditions().tokens, tb, rtol=0, atol=0)


def test_a_missing_t5_refuses_the_prompt_and_the_stream_goes_on():
    s = AudioStream(t5_model("lmdm-tests/absent-t5"), mode="text")
    s.set_param("steps", 2)
    before = s.process(np.zeros((s.channels, s.block_samples), np.float32))  # no prompt: T5 is never needed
    with pytest.raises(T5Unavailable, match="hf download lmdm-tests/absent-t5"):
        s.set_param("prompt", A)
    assert s.prompts["prompt"] == "" and s.understood == []
    assert s.set_param("prompt_b", B) == B           # blend 0: prompt_b is not encoded yet
    with pytest.raises(T5Unavailable):
        s.set_param("blend", 0.5)                     # now it would be
    assert s.blend == 0.0
    after = s.process(np.zeros((s.channels, s.block_samples), np.float32))
    assert np.isfinite(before).all() and np.isfinite(after).all()


@pytest.fixture(scope="module")
def t5_ckpt(tmp_path_factory, tiny_t5_dir):
    path = tmp_path_factory.mktemp("t5-model") / "ckpt"
    t5_model(tiny_t5_dir).save(path)
    return path


def test_worker_reports_a_missing_t5_in_one_line_and_keeps_serving(t5_ckpt):
    w = WorkerProc("--model", str(t5_ckpt), "--t5", "lmdm-tests/absent-t5", "--margin-ms", "20",
                   "--client-timeout", "120")   # the first prompt imports transformers (seconds)
    try:
        with Client(w.address, stream="t5", rate=44100, channels=2, mode="text", timeout=120) as c:
            with pytest.raises(ClientError) as err:
                c.set("prompt", A)
            e = err.value.error
            assert e.code == "bad_param" and "hf download lmdm-tests/absent-t5" in e.text and "\n" not in e.text
            assert c.set("cfg", 2.0).value == 2.0      # still serving
            c.request(0, 4096)
            msg = c.recv(timeout=120)
            assert msg is not None and msg.TYPE == "generated" and np.isfinite(msg.data).all()
        assert not w.wait_log("Traceback", timeout=0.2)
    finally:
        w.stop()


def test_generate_with_a_missing_t5_is_one_error_line(t5_ckpt, tmp_path):
    r = subprocess.run([LMDM, "generate", "-o", str(tmp_path / "x.wav"), "--seconds", "1", "--model", str(t5_ckpt),
                        "--t5", "lmdm-tests/absent-t5", "--set", f"prompt={A}"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and not (tmp_path / "x.wav").exists()
    errors = [line for line in r.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "hf download lmdm-tests/absent-t5" in errors[0], r.stderr
    assert "Traceback" not in r.stderr
