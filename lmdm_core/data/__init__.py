"""Training data: music21 corpus works -> cleaned MIDI -> SoundFont renders, stems, sketch curves, captions, manifest.

Modules: corpus (selection, split by work, export), midi (mido fixes and variations), render (tinysoundfont),
stems, captions, checks (curves vs MIDI), manifest, build (orchestration), cli (`lmdm data`).
"""
