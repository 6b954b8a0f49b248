"""`python -m lmdm_core.eval`: `lmdm eval` without click, for a bare machine (the GPU machine has no click).

Same defaults as `lmdm eval` (run.EvalConfig); adds --device (the model runs there; metrics stay on the CPU) and
--classifier-renders. Without matplotlib the PNGs are left out and eval.json is still written; draw them later with
`report.write_report(json.load(open("OUT/eval.json")), "OUT")`.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m lmdm_core.eval", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="data/lmdm", help="data build with a held-out split")
    p.add_argument("--model", default=None, help="checkpoint directory (default: lmdm_core/weights/)")
    p.add_argument("--out", default="eval")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--works", type=int)
    p.add_argument("--seconds", type=float)
    p.add_argument("--window", type=float)
    p.add_argument("--context", type=float)
    p.add_argument("--steps", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--classifier", default=None, help="saved instrument classifier (default: train one)")
    p.add_argument("--classifier-renders", type=int, default=None, help="train renders for the classifier (all)")
    p.add_argument("--parts", default="drift,adherence,accompaniment")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)

    from lmdm_core.eval.run import EvalConfig, evaluate, summary_lines
    from lmdm_core.pipeline import load_model

    given = {k: v for k, v in {"works": a.works, "seconds": a.seconds, "window_s": a.window, "context_s": a.context,
                               "classifier_renders": a.classifier_renders}.items() if v is not None}
    common = {"model": a.model, "steps": a.steps, "seed": a.seed, "progress": not a.no_progress,
              "classifier": Path(a.classifier) if a.classifier else None,
              "parts": tuple(s.strip() for s in a.parts.split(",") if s.strip()), **given}
    cfg = (EvalConfig.quick(Path(a.data), Path(a.out), **common) if a.quick
           else EvalConfig(Path(a.data), Path(a.out), **common))
    try:
        model = load_model(a.model, device=a.device)
        result = evaluate(cfg, model=model)
    except (FileNotFoundError, ValueError) as err:  # a missing build or model, a bad option: one line, no traceback
        sys.exit(f"lmdm eval: {err}")
    except ImportError as err:  # no matplotlib: eval.json was written before the plots
        print(f"plots left out ({err}); eval.json is complete")
        result = json.loads((Path(a.out) / "eval.json").read_text())
        result["files"] = [str(Path(a.out) / "eval.json")]
    print(f"device: {a.device}")
    for line in summary_lines(result):
        print(line)


if __name__ == "__main__":
    main()
