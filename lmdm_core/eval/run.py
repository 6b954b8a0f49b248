"""The work of `lmdm eval` (eval/cli.py): load the model and the held-out renders, run the parts, write the report."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

PARTS = ("drift", "adherence", "accompaniment")


@dataclass
class EvalConfig:
    data_dir: Path
    out_dir: Path
    model: str | None = None            # checkpoint dir; None = lmdm_core/weights/ or the embedded untrained model
    works: int = 8                      # held-out works (one render each)
    seconds: float = 60.0               # generated length for drift
    window_s: float = 10.0
    context_s: float = 10.0
    jam_seconds: float = 30.0
    steps: int | None = None            # sampler steps (None = the model's default)
    seed: int = 0
    classifier: Path | None = None      # a saved classifier; None = train one on the build's train split
    classifier_renders: int | None = None
    parts: tuple[str, ...] = PARTS
    progress: bool = True

    @classmethod
    def quick(cls, data_dir: Path, out_dir: Path, **overrides) -> EvalConfig:
        """Few works, short clips: for tests and docs, a few minutes on a laptop CPU."""
        base = {"works": 2, "seconds": 20.0, "window_s": 5.0, "context_s": 5.0, "jam_seconds": 10.0,
                "classifier_renders": 8}
        return cls(Path(data_dir), Path(out_dir), **{**base, **overrides})


def evaluate(cfg: EvalConfig, model=None) -> dict:
    """Run the chosen parts; writes eval.json and PNGs under cfg.out_dir; returns the result."""
    from lmdm_core.eval import heldout, report
    from lmdm_core.eval.accompaniment import run_accompaniment
    from lmdm_core.eval.adherence import run_adherence
    from lmdm_core.eval.classifier import InstrumentClassifier
    from lmdm_core.eval.drift import run_drift
    from lmdm_core.pipeline import load_model

    bad = [p for p in cfg.parts if p not in PARTS]
    if bad:
        raise ValueError(f"unknown parts {bad}; choose from {list(PARTS)}")
    t0 = time.time()
    m = model if model is not None else load_model(cfg.model)
    sr, ch = m.autoencoder.sample_rate, m.autoencoder.audio_channels
    result: dict = {"model": m.source, "trained": bool(m.meta.get("trained", True)),
                    "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()}}
    need = cfg.context_s + cfg.seconds
    if "drift" in cfg.parts or "adherence" in cfg.parts:
        clips = heldout.load_heldout(cfg.data_dir, sr, ch, cfg.works, min_seconds=need, max_seconds=need + 1)
        drift, text_audio = run_drift(m, clips, cfg.seconds, cfg.window_s, cfg.context_s, cfg.steps, cfg.seed,
                                      progress=cfg.progress)
        if "drift" in cfg.parts:
            result["drift"] = drift
        if "adherence" in cfg.parts:
            if cfg.classifier is not None:
                clf = InstrumentClassifier.load(cfg.classifier)
            else:
                clf = InstrumentClassifier.train_from_build(cfg.data_dir, "train", cfg.classifier_renders,
                                                            progress=cfg.progress)
                clf.save(Path(cfg.out_dir) / "instruments.safetensors")
            result["adherence"] = run_adherence(clf, clips, text_audio, sr, cfg.seed)
    if "accompaniment" in cfg.parts:
        jam_clips = heldout.load_heldout(cfg.data_dir, sr, ch, cfg.works, min_seconds=cfg.context_s + cfg.jam_seconds,
                                         with_stem=True, max_seconds=cfg.context_s + cfg.jam_seconds + 1)
        result["accompaniment"] = run_accompaniment(m, jam_clips, cfg.jam_seconds, cfg.context_s, cfg.steps, cfg.seed,
                                                    progress=cfg.progress)
    result["seconds_taken"] = round(time.time() - t0, 1)
    result["files"] = [str(p) for p in report.write_report(result, cfg.out_dir)]
    return result


def summary_lines(result: dict) -> list[str]:
    """A few readable lines for the terminal."""
    lines = [f"model: {result['model']}"]
    for mode in ("audio_primed", "text_only"):
        d = result.get("drift", {}).get(mode)
        if d:
            for method, curves in d["methods"].items():
                cd = ", ".join("-" if v is None else f"{v:.2f}" for v in curves["chroma_distance"])
                sd = ", ".join("-" if v is None else f"{v:.1f}" for v in curves["spectral_distance_db"])
                lines.append(f"{mode:12s} {method:15s} chroma dist [{cd}]  spectral dB [{sd}]")
    adh = result.get("adherence", {}).get("methods", {})
    for method, row in adh.items():
        lines.append(f"adherence    {method:15s} " + "  ".join(f"{k} {v:.2f}" for k, v in row.items() if v is not None))
    acc = result.get("accompaniment", {})
    if "chroma_agreement" in acc:
        agree = ", ".join(f"{k} {v:.3f}" for k, v in acc["chroma_agreement"].items())
        lines.append(f"accompaniment chroma agreement: {agree}")
    elif "skipped" in acc:
        lines.append(f"accompaniment skipped: {acc['skipped']}")
    lines.append("wrote " + ", ".join(result.get("files", [])))
    return lines
