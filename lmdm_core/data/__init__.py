"""Training data: music21 corpus and generated works -> cleaned MIDI -> SoundFont renders, stems, sketch curves,
captions, manifest.

Modules: corpus (selection, split by work, export), generator (seeded style works), midi (mido fixes and variations),
soundfont (SF2/SF3 reading and subsets), render (tinysoundfont), augment (pedalboard reverb and compression), stems,
captions, checks (curves vs MIDI), manifest, build (orchestration), cli (`lmdm data`).
"""
