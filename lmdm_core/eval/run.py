"""The work of `lmdm eval` (eval/cli.py): load the model and the held-out renders, run the parts, write the report."""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

PARTS = ("drift", "adherence", "accompaniment", "texture", "style")
TEXT_PARTS = ("drift", "adherence", "texture", "style")     # the parts that need text-only generations


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
    block_size: str = "long"            # long | short (LoadedModel.block_sizes): one evaluation per block size
    seed: int = 0
    classifier: Path | None = None      # a saved classifier; None = train one on the build's train split
    classifier_renders: int | None = None
    style_classifier: Path | None = None   # a saved style classifier; None = train one on the build's train split
    parts: tuple[str, ...] = PARTS
    steps_list: tuple[int, ...] = ()    # several step counts: one run each under OUT/steps<N>, see evaluate_steps
    spread_by: str | None = "style"     # manifest field the held-out works are taken from in turn (None: by id)
    progress: bool = True

    @classmethod
    def quick(cls, data_dir: Path, out_dir: Path, **overrides) -> EvalConfig:
        """Few works, short clips: for tests and docs, a few minutes on a laptop CPU."""
        base = {"works": 2, "seconds": 20.0, "window_s": 5.0, "context_s": 5.0, "jam_seconds": 10.0,
                "classifier_renders": 8}
        return cls(Path(data_dir), Path(out_dir), **{**base, **overrides})


def evaluate(cfg: EvalConfig, model=None, shared: dict | None = None) -> dict:
    """Run the chosen parts; writes eval.json and PNGs under cfg.out_dir; returns the result. With a steps_list,
    evaluate_steps. `shared`: classifiers and real-render textures carried from one step count to the next."""
    from lmdm_core.eval import heldout, report
    from lmdm_core.eval.accompaniment import run_accompaniment
    from lmdm_core.eval.drift import run_drift
    from lmdm_core.pipeline import load_model

    bad = [p for p in cfg.parts if p not in PARTS]
    if bad:
        raise ValueError(f"unknown parts {bad}; choose from {list(PARTS)}")
    if cfg.steps_list:
        return evaluate_steps(cfg, model)
    shared = {} if shared is None else shared
    t0 = time.time()
    m = model if model is not None else load_model(cfg.model)
    sr, ch = m.autoencoder.sample_rate, m.autoencoder.audio_channels
    result: dict = {"model": m.source, "trained": bool(m.meta.get("trained", True)),
                    "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items()},
                    "stream": stream_settings(m, cfg.block_size)}
    need = cfg.context_s + cfg.seconds
    if any(p in cfg.parts for p in TEXT_PARTS):
        clips = heldout.load_heldout(cfg.data_dir, sr, ch, cfg.works, min_seconds=need, max_seconds=need + 1,
                                     spread_by=cfg.spread_by)
        modes = ("audio", "text") if "drift" in cfg.parts else ("text",)
        drift, text_audio = run_drift(m, clips, cfg.seconds, cfg.window_s, cfg.context_s, cfg.steps, cfg.seed,
                                      modes=modes, progress=cfg.progress, block_size=cfg.block_size)
        if "drift" in cfg.parts:
            result["drift"] = drift
        result.update(_text_parts(cfg, clips, text_audio, sr, shared))
    if "accompaniment" in cfg.parts:
        jam_clips = heldout.load_heldout(cfg.data_dir, sr, ch, cfg.works, min_seconds=cfg.context_s + cfg.jam_seconds,
                                         with_stem=True, max_seconds=cfg.context_s + cfg.jam_seconds + 1)
        result["accompaniment"] = run_accompaniment(m, jam_clips, cfg.jam_seconds, cfg.context_s, cfg.steps, cfg.seed,
                                                    progress=cfg.progress, block_size=cfg.block_size)
    result["seconds_taken"] = round(time.time() - t0, 1)
    result["files"] = [str(p) for p in report.write_report(result, cfg.out_dir)]
    return result


def _text_parts(cfg: EvalConfig, clips, text_audio, sr: int, shared: dict) -> dict:
    """Adherence (instruments), texture and style on the text-only generations of the held-out captions."""
    from lmdm_core.eval.adherence import classifier_auc, run_adherence, run_style_adherence
    from lmdm_core.eval.classifier import InstrumentClassifier
    from lmdm_core.eval.style import StyleClassifier
    from lmdm_core.eval.texture import run_texture

    out: dict = {}
    if "adherence" in cfg.parts:
        clf = shared.get("instruments") or _classifier(InstrumentClassifier, cfg.classifier, cfg, "instruments")
        shared["instruments"] = clf
        out["adherence"] = run_adherence(clf, clips, text_audio, sr, cfg.seed)
    if "texture" in cfg.parts:
        out["texture"], shared["real_texture"] = run_texture(clips, text_audio, sr, shared.get("real_texture"))
    if "style" in cfg.parts:
        if "styles" not in shared:
            shared["styles"] = _classifier(StyleClassifier, cfg.style_classifier, cfg, "styles")
            shared["style_classifier_auc"] = classifier_auc(shared["styles"], cfg.data_dir, "heldout")
        out["style"] = {**run_style_adherence(shared["styles"], clips, text_audio, sr, cfg.seed),
                        "classifier_on_heldout": shared["style_classifier_auc"]}
    return out


def _classifier(kind, path: Path | None, cfg: EvalConfig, name: str):
    """Load a saved classifier, or train one on the build's train split and save it as OUT/<name>.safetensors."""
    if path is not None:
        return kind.load(path)
    clf = kind.train_from_build(cfg.data_dir, "train", cfg.classifier_renders, progress=cfg.progress)
    clf.save(Path(cfg.out_dir) / f"{name}.safetensors")
    return clf


def stream_settings(model, block_size: str = "long") -> dict:
    """The stream's block (latent frames per generated block) and its length in seconds: the figures depend on it,
    so block sizes are compared by running evaluate once per block size (EvalConfig.block_size)."""
    block, ae = model.geometry(block_size).block, model.autoencoder
    return {"block_size": block_size, "block_frames": block, "block_seconds": round(block * ae.hop / ae.sample_rate, 4),
            "sample_rate": ae.sample_rate}


def evaluate_steps(cfg: EvalConfig, model=None) -> dict:
    """One evaluate per step count of cfg.steps_list under OUT/steps<N>/ (the model loaded once, the classifiers
    trained once, the real renders transcribed once), and OUT/eval.json with the headline figures per step count."""
    from lmdm_core.eval import report
    from lmdm_core.pipeline import load_model

    m = model if model is not None else load_model(cfg.model)
    shared: dict = {}
    runs = {}
    for steps in cfg.steps_list:
        sub = replace(cfg, steps=steps, steps_list=(), out_dir=Path(cfg.out_dir) / f"steps{steps}")
        runs[str(steps)] = evaluate(sub, m, shared)
    result = {"model": m.source, "stream": stream_settings(m, cfg.block_size), "steps_list": list(cfg.steps_list),
              "by_steps": {k: headline(r) for k, r in runs.items()},
              "runs": {k: r["files"][0] for k, r in runs.items()}}
    result["files"] = [str(report.write_json(result, Path(cfg.out_dir) / "eval.json"))]
    return result


def headline(result: dict) -> dict:
    """The figures one compares across step counts (and later block sizes): mean text-only chroma distance,
    instrument AUC, texture ratios gen/real, style and drums AUC of the generations."""
    drift = result.get("drift", {})
    text = drift.get("text_only", {}).get("methods", {}).get("generated", {}).get("chroma_distance", [])
    vals = [v for v in text if v is not None]
    style = result.get("style", {}).get("methods", {}).get("generated", {})
    return {"text_only_chroma_distance": sum(vals) / len(vals) if vals else None,
            "instrument_auc": result.get("adherence", {}).get("methods", {}).get("generated", {}).get(
                "instrument_auc"),
            "texture_ratio": result.get("texture", {}).get("ratio"),
            "style_auc": style.get("style_auc"), "drums_auc": style.get("drums_auc"),
            "seconds_taken": result.get("seconds_taken")}


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
    tex = result.get("texture", {})
    if "ratio" in tex:
        lines.append("texture gen/real " + "  ".join(f"{k} {_f(v)}" for k, v in tex["ratio"].items()))
    for method, row in result.get("style", {}).get("methods", {}).items():
        lines.append(f"style        {method:15s} " + "  ".join(
            f"{k} {_f(row[k])}" for k in ("drums_auc", "style_auc", "style_hit")))
    for steps, row in result.get("by_steps", {}).items():
        lines.append(f"steps {steps}: " + "  ".join(f"{k} {_f(v)}" for k, v in row.items() if not isinstance(v, dict))
                     + "  texture " + " ".join(_f(v) for v in (row.get("texture_ratio") or {}).values()))
    lines.append("wrote " + ", ".join(result.get("files", [])))
    return lines


def _f(v) -> str:
    return "-" if v is None else f"{v:.2f}"
