"""DiT training on latent windows (LMDM stage 1): first bidirectional outpainting, then fine-tuned with the
block-causal and the enc-dec masks (alternating steps, so one set of weights serves both cached engines), always the
masked rectified-flow loss on the target block with context dropout (lmdm_core.objective.rf_loss).

Conditions, each dropped at random so the model also works without it (and classifier-free guidance has its
unconditional branch):
- text: caption words through a WordEncoder trained jointly (p_cond of rows get the null prompt);
- stem (jam mode): for p_stem of windows the target is the accompaniment (mix without one voice) and the "stem" input
  carries that voice's latents over the whole window; otherwise the stem input is zero and the target is the mix;
- curves (sketch mode): for p_curves of mix windows the "curves" input carries the mix's pitch/loudness/brightness,
  each curve zeroed with p_curve_drop (the pipeline zeroes curves the player deselects); otherwise all zero.
Curves enter scaled by CURVE_SCALE; `fold_curve_scale` moves that scale into the weights at export, so the shipped
model takes raw units (MIDI note, dBFS, Hz) exactly as pipeline.py computes them.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

from lmdm_core.conditions import Conditions
from lmdm_core.config import DiTConfig, SamplerConfig, StreamConfig, TextConfig
from lmdm_core.dit import DiT
from lmdm_core.text import WordEncoder, build_vocab, tokenize
from lmdm_core.objective import TrainConfig, rf_loss
from lmdm_core.training import ddp
from lmdm_core.training.dit_state import check_format, load_dit_state, read_doc, save_dit_state
from lmdm_core.training.latents import LatentSet
from lmdm_core.training.state import StopFlag, steps_within

CURVE_SCALE = (100.0, 100.0, 5000.0)     # pitch (MIDI note), loudness (dBFS), brightness (Hz) -> about unit range
STOPWORDS = frozenset("a an and the in at of for with playing key".split())


@dataclass
class DiTTrainConfig:
    steps_bidirectional: int = 3000
    steps_finetune: int = 3000       # alternating block_causal / encdec steps after the bidirectional stage
    batch: int = 64                  # global batch (split over ranks)
    lr: float = 5e-4
    lr_final: float = 5e-5
    warmup: int = 200
    weight_decay: float = 0.01
    p_uncond: float = 0.2            # drop all context
    p_partial: float = 0.3           # drop the oldest context chunks
    p_cond: float = 0.15             # null prompt (CFG)
    p_stem: float = 0.3              # accompaniment window with the stem input
    p_curves: float = 0.4            # mix window with the curves input
    p_curve_drop: float = 0.3        # each curve zeroed on its own
    blocks: tuple[int, ...] = ()    # block sizes (latents) drawn per batch, e.g. (48, 12); () = the stream's own
    ema: float = 0.999
    log_every: int = 25
    save_every: int = 1000
    seed: int = 0
    amp: bool = True
    # The resumable state (training/dit_state.py): exact | compact | small | ema | ema8; the GPU calls carry ema8.
    state_format: str = "exact"
    rewarm: int = 200                # after resuming without AdamW moments: ramp the learning rate over these steps

    @property
    def steps(self) -> int:
        return self.steps_bidirectional + self.steps_finetune


def stage_mode(step: int, cfg: DiTTrainConfig) -> str:
    if step < cfg.steps_bidirectional:
        return "bidirectional"
    return "block_causal" if (step - cfg.steps_bidirectional) % 2 == 0 else "encdec"


def caption_vocab(captions: list[str], min_count: int = 2) -> list[str]:
    """Words of the training captions seen at least min_count times, minus filler words."""
    return [w for w in build_vocab(captions, min_count=min_count) if w not in STOPWORDS]


def text_config(dit: DiTConfig, vocab: list[str]) -> TextConfig:
    return TextConfig(kind="words", dim=dit.cond_token_dim, max_tokens=dit.max_cond_tokens, vocab=vocab)


def geometries(stream: StreamConfig, cfg: DiTTrainConfig) -> list[StreamConfig]:
    """The streaming geometries a run trains: the stream's own, or one per block size in cfg.blocks."""
    return [stream.with_block(b) for b in cfg.blocks] if cfg.blocks else [stream]


class WindowSampler:
    """Random training windows [B, C, window] with their extras and captions, from clips at least the longest
    window long; each batch draws one of the run's geometries (block sizes), so one set of weights serves all."""

    def __init__(self, data: LatentSet, stream: StreamConfig, cfg: DiTTrainConfig, device: torch.device):
        self.data, self.cfg, self.device = data.to(device), cfg, device
        self.geometries = geometries(stream, cfg)
        longest = max(g.window for g in self.geometries)
        self.usable = [i for i, z in enumerate(self.data.mix) if z.shape[-1] >= longest]
        if not self.usable:
            raise ValueError(f"no clip is a window ({longest} latents) long")
        weights = torch.tensor([float(self.data.mix[i].shape[-1] - longest + 1) for i in self.usable])
        self.weights = weights / weights.sum()
        self.scale = torch.tensor(CURVE_SCALE, device=device)[:, None]

    def geometry(self, gen: torch.Generator) -> StreamConfig:
        """This batch's geometry, drawn uniformly from the run's block sizes."""
        if len(self.geometries) == 1:
            return self.geometries[0]
        return self.geometries[int(torch.randint(0, len(self.geometries), (1,), generator=gen))]

    def sample(self, n: int, gen: torch.Generator, stream: StreamConfig | None = None
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor], list[str]]:
        """n windows of `stream`'s length (default: the run's first geometry)."""
        w, c = (stream or self.geometries[0]).window, self.cfg
        picks = torch.multinomial(self.weights, n, replacement=True, generator=gen)
        u = torch.rand(n, 2, generator=gen)
        drops = torch.rand(n, 3, generator=gen) < c.p_curve_drop
        xs, stems, curves, caps = [], [], [], []
        for b in range(n):
            i = self.usable[int(picks[b])]
            a = int(torch.randint(0, self.data.mix[i].shape[-1] - w + 1, (1,), generator=gen))
            zero = self.data.mix[i].new_zeros(self.data.mix[i].shape[0], w)
            if u[b, 0] < c.p_stem and self.data.stem[i] is not None:
                xs.append(self.data.acc[i][:, a:a + w])
                stems.append(self.data.stem[i][:, a:a + w])
                curves.append(torch.zeros(3, w, device=self.device))
            else:
                xs.append(self.data.mix[i][:, a:a + w])
                stems.append(zero)
                keep = (u[b, 1] < c.p_curves) * (~drops[b]).float().to(self.device)[:, None]
                curves.append(self.data.curves[i][:, a:a + w] / self.scale * keep)
            caps.append(self.data.captions[i])
        extras = {"stem": torch.stack(stems).float(), "curves": torch.stack(curves).float()}
        return torch.stack(xs).float(), extras, caps


def lr_at(step: int, cfg: DiTTrainConfig, rewarm_from: int | None = None) -> float:
    """Warm-up then cosine to lr_final at cfg.steps; ramped again after a resume without AdamW moments."""
    warm = min(1.0, (step + 1) / cfg.warmup)
    if rewarm_from is not None:
        warm *= min(1.0, (step - rewarm_from + 1) / max(1, cfg.rewarm))
    cos = 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, cfg.steps))))
    return warm * (cfg.lr_final + (cfg.lr - cfg.lr_final) * cos)


@torch.no_grad()
def ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p.detach(), 1.0 - decay)


STATE_DIR = "state"                      # under the trainer's out_dir: a dit_state folder


def train_dit(dit_cfg: DiTConfig, stream: StreamConfig, data: LatentSet, out_dir: str | Path, cfg: DiTTrainConfig,
              vocab: list[str] | None = None, d: ddp.Dist | None = None, progress: bool = True,
              budget_s: float | None = None, init: tuple[DiT, WordEncoder] | None = None,
              seconds: float | None = None, stop: StopFlag | None = None
              ) -> tuple[DiT, WordEncoder, dict[str, list]]:
    """Train (or resume from out_dir/state/, written in cfg.state_format); returns the EMA DiT and text encoder and
    the loss history. A resumed run keeps the state's vocabulary (its words own their embedding rows).
    budget_s: after 60 steps, cut both stages in proportion so the whole run fits this many seconds.
    seconds / stop: end this call after the step that reaches `seconds` of training or after a stop signal, the
    schedule (cfg.steps) kept for the next call; the state is saved either way, with this call's record in `calls`.
    init: a trained (exported, curve scale folded) DiT and its text encoder to continue from instead of random
    weights; its vocabulary must be `vocab`."""
    d = d or ddp.Dist()
    folder = Path(out_dir) / STATE_DIR
    check_format(cfg.state_format)
    torch.manual_seed(cfg.seed)
    saved = read_doc(folder)
    if saved is not None:
        vocab = saved["vocab"]
    vocab = vocab if vocab is not None else caption_vocab(data.captions)
    dit = DiT(dit_cfg).to(d.device)
    text = WordEncoder(text_config(dit_cfg, vocab)).to(d.device)
    if init is not None:
        start_from(dit, text, *init)
    ema_dit, ema_text = copy.deepcopy(dit).requires_grad_(False), copy.deepcopy(text).requires_grad_(False)
    model = ddp.wrap(dit, d)
    model.cfg = dit_cfg                      # rf_loss reads model.cfg; DDP does not forward attributes
    params = list(dit.parameters()) + list(text.parameters())
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + d.rank)
    modules = {"dit": dit, "text": text, "ema_dit": ema_dit, "ema_text": ema_text}
    step, history = 0, {"loss": [], "loss_bidirectional": [], "loss_block_causal": [], "loss_encdec": []}
    calls, before_s, rewarm_from = [], 0.0, None
    if saved is not None:
        doc = load_dit_state(folder, modules, opt, gen, asdict(dit_cfg))
        step, history, calls = int(doc["step"]), doc["history"], doc.get("calls", [])
        before_s, rewarm_from = float(doc.get("seconds", 0.0)), doc.get("rewarm_from")
    first = step
    windows = WindowSampler(data, stream, cfg, d.device)
    local = ddp.split_batch(cfg.batch, d)
    train = TrainConfig(p_uncond=cfg.p_uncond, p_partial=cfg.p_partial, p_cond=cfg.p_cond)
    amp = cfg.amp and d.device.type == "cuda"
    t0 = time.time()
    call = {"started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "first_step": first,
            "device": torch.cuda.get_device_name(d.device) if d.device.type == "cuda" else str(d.device),
            "world": d.world, "state_format": cfg.state_format, "resumed_format": (saved or {}).get("state_format"),
            "blocks": list(cfg.blocks), "plan_steps": cfg.steps, "lr": cfg.lr, "p_curves": cfg.p_curves,
            "clips": len(data)}   # a chain may change its plan, recipe or data between calls: each call says its own

    def save() -> None:
        took = time.time() - t0
        call.update(step=step, train_s=round(took, 1), steps_per_s=round((step - first) / max(took, 1e-9), 3),
                    loss=history["loss"][-1][1] if history["loss"] else None)
        save_dit_state(folder, modules, opt, gen, cfg.state_format,
                       {"step": step, "history": history, "calls": calls + [call], "seconds": before_s + took,
                        "rewarm_from": rewarm_from, "vocab": vocab, "config": asdict(cfg), "dit": asdict(dit_cfg),
                        "stream": asdict(stream)})

    from tqdm import tqdm
    bar = tqdm(total=cfg.steps, initial=step, disable=not (progress and d.main), desc="dit", mininterval=5.0)
    saved_at, logged_at = None, None
    while step < cfg.steps and not _stop_now(t0, seconds, stop, d):
        mode = stage_mode(step, cfg)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg, rewarm_from)
        geom = windows.geometry(gen)
        x0, extras, caps = windows.sample(local, gen, geom)
        tokens, mask, _ = text.encode(caps)
        with torch.autocast(d.device.type, dtype=torch.bfloat16, enabled=amp):
            loss = rf_loss(model, x0, Conditions(tokens, mask), geom, gen, mode=mode, train=train, extras=extras,
                           sampler=SamplerConfig())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        ddp.allreduce_grads(text, d)         # the text encoder runs outside DDP
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        ema_update(ema_dit, dit, cfg.ema)
        ema_update(ema_text, text, cfg.ema)
        step += 1
        if step == first + 10:
            t10 = time.time()              # pace is timed from here, past the first steps' warm-up
        if step == first + 60 and budget_s is not None:
            pace = (time.time() - t10) / 50
            total = int(ddp.mean(steps_within(step, pace, time.time() - t0, budget_s, cfg.steps), d))
            if step < cfg.steps_bidirectional:
                share = cfg.steps_bidirectional / cfg.steps
                cfg.steps_bidirectional = max(step, round(total * share))
            cfg.steps_finetune = max(0, total - cfg.steps_bidirectional)
            bar.total = cfg.steps
        if step % cfg.log_every == 0 or step == cfg.steps:
            _log(history, step, ddp.mean(loss.item(), d), mode, geom.block if cfg.blocks else None)
            logged_at = step
            if d.main:
                bar.set_postfix(loss=f"{history['loss'][-1][1]:.3f}", mode=mode)
        bar.update(1)
        if d.main and (step % cfg.save_every == 0 or step == cfg.steps):
            save()
            saved_at = step
    bar.close()
    if step > first and logged_at != step:   # a call's last step is always in the history
        _log(history, step, ddp.mean(loss.item(), d), mode, geom.block if cfg.blocks else None)
    if d.main and saved_at != step:
        save()
    return ema_dit, ema_text, history


def _log(history: dict[str, list], step: int, v: float, mode: str, block: int | None) -> None:
    history["loss"].append((step, v))
    history[f"loss_{mode}"].append((step, v))
    if block is not None:
        history.setdefault(f"loss_block{block}", []).append((step, v))


def _stop_now(t0: float, seconds: float | None, stop: StopFlag | None, d: ddp.Dist) -> bool:
    """This call's time is up or a stop signal came (on any rank: all ranks stop at the same step)."""
    if seconds is None and stop is None:
        return False
    local = (seconds is not None and time.time() - t0 >= seconds) or (stop is not None and stop.set)
    return ddp.mean(float(local), d) > 0


@torch.no_grad()
def start_from(dit: DiT, text: WordEncoder, trained: DiT, trained_text: torch.nn.Module) -> None:
    """Copy an exported model's weights into fresh training modules (fine-tuning it further). The export folded
    CURVE_SCALE into the curve columns; training feeds scaled curves, so the fold is undone here."""
    if list(trained_text.cfg.vocab) != list(text.cfg.vocab):
        raise ValueError("init model's vocabulary differs from the training vocabulary")
    dit.load_state_dict({k: v.float() for k, v in trained.state_dict().items()})
    text.load_state_dict({k: v.float() for k, v in trained_text.state_dict().items()})
    fold_curve_scale(dit, inverse=True)


@torch.no_grad()
def fold_curve_scale(dit: DiT, inverse: bool = False) -> None:
    """Divide the input-add projection's curve columns by CURVE_SCALE so the model takes raw curve units
    (inverse: multiply, back to the scaled units training feeds)."""
    offset = 0
    for name, n in dit.cfg.input_adds.items():
        if name == "curves":
            scale = torch.tensor(CURVE_SCALE, dtype=dit.to_input_add_embed.weight.dtype,
                                 device=dit.to_input_add_embed.weight.device)
            w = dit.to_input_add_embed.weight[:, offset:offset + n]
            w.mul_(scale) if inverse else w.div_(scale)
        offset += n


def understood_share(vocab: list[str], captions: list[str]) -> float:
    """Share of caption words (not filler) the vocabulary covers: a check that the held-out captions are readable."""
    words = [w for c in captions for w in tokenize(c) if w not in STOPWORDS]
    known = set(vocab)
    return sum(w in known for w in words) / max(1, len(words))
