"""Evaluation of a model (`lmdm eval`): drift over 60 s, prompt adherence, accompaniment. See docs/evaluation.md.

Importable pieces with small APIs, reused by later experiments:
    metrics.window_metrics(audio, reference, sr, ...)   per-window distances, loudness, key agreement
    classifier.InstrumentClassifier                      instrument probabilities for a clip (ships with a model)
    drift.run_drift(model, clips, ...)                   per-10-s-window curves, audio-primed and text-only
    accompaniment.run_accompaniment(model, clips, ...)   jam-mode chroma agreement with baselines
"""
