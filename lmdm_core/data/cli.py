"""`lmdm data`: the click commands over lmdm_core.data.build (`python -m lmdm_core.data.build` runs `build` here
too)."""
from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import click

from lmdm_core.data import build as builder
from lmdm_core.data import soundfont as sfont
from lmdm_core.data.corpus import COLLECTIONS
from lmdm_core.data.render import DEFAULT_SOUNDFONT, MUSESCORE_SOUNDFONT


@click.group()
def data() -> None:
    """Training data: `lmdm data build` (music21 corpus -> MIDI -> renders, stems, curves, captions, manifest)."""


@data.command()
@click.option("--works", default="data/works", show_default=True, type=click.Path(path_type=Path),
              help="Folder of exported works (works.jsonl + *.mid).")
@click.option("--out", default="data/lmdm", show_default=True, type=click.Path(path_type=Path),
              help="Output folder: renders/, manifest.jsonl, summary.json.")
@click.option("--collections", default=None,
              help=f"Comma list to export first ('all' = {','.join(COLLECTIONS)}); default: reuse --works.")
@click.option("--limit", type=int, default=None, help="At most this many works per collection.")
@click.option("--generated", type=int, default=0, show_default=True,
              help="Generated works (seeds 0..N-1: drums, bass, chords, pads, leads) to add to --works.")
@click.option("--heldout", type=float, default=0.1, show_default=True, help="Held-out share of works.")
@click.option("--export-only", is_flag=True, help="Write the works folder (MIDI + works.jsonl) and stop.")
@click.option("--renders", type=int, default=1, show_default=True, help="Renders per work.")
@click.option("--workers", type=int, default=max(1, (mp.cpu_count() or 2) - 1), show_default=True,
              help="Worker processes (default: one core left free).")
@click.option("--max-seconds", type=float, default=180.0, show_default=True, help="Cut longer works here.")
@click.option("--soundfont", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=str(MUSESCORE_SOUNDFONT), show_default=True)
@click.option("--fallback", type=click.Path(path_type=Path, dir_okay=False), default=str(DEFAULT_SOUNDFONT),
              show_default=True, help="SoundFont for presets --soundfont lacks (skipped when missing).")
@click.option("--augment/--no-augment", default=True, show_default=True,
              help="Reverb per render (and compression when no stems are written).")
@click.option("--hours", type=float, default=None, help="Render at most about this many hours this run.")
@click.option("--stems/--no-stems", default=True, show_default=True, help="Write each voice alone too.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--only", default=None, help="Render only these collections (comma list) of the exported works.")
@click.option("--no-progress", is_flag=True, help="No progress bar (logs of unattended runs).")
def build(works: Path, out: Path, collections: str | None, limit: int | None, generated: int, heldout: float,
          export_only: bool, renders: int, workers: int, max_seconds: float, soundfont: Path, fallback: Path,
          augment: bool, hours: float | None, stems: bool, seed: int, only: str | None, no_progress: bool) -> None:
    """Export works from the music21 corpus and render them; resumable (a rerun only does what is missing).

    \b
    Examples:
      lmdm data build --collections bach --limit 20 --workers 2   # a small set
      lmdm data build --collections all --export-only             # MIDI to carry to a GPU machine
      lmdm data build --works data/works --out data/lmdm          # render an exported folder
      lmdm data build --collections all --generated 800 --export-only   # the v2 works (docs/data.md)
      python -m lmdm_core.data.build --works data/works --out data/lmdm --workers 16   # the same command
    """
    cols = None if collections is None else (list(COLLECTIONS) if collections == "all" else collections.split(","))
    try:
        summary = builder.run(works, out, cols, limit, heldout, export_only, generated, renders=renders,
                              workers=workers, max_seconds=max_seconds, soundfont=soundfont,
                              fallback=fallback if fallback.is_file() else None, augment=augment, hours=hours,
                              with_stems=stems, seed=seed, only=None if only is None else only.split(","),
                              progress=not no_progress)
    except (ValueError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(builder.format_summary(summary))


@data.command("soundfont-subset")
@click.argument("src", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=str(MUSESCORE_SOUNDFONT))
@click.argument("dst", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--preset", "presets", multiple=True, metavar="BANK:PROGRAM",
              help="Keep this preset (repeatable; bank 128 = drum kits). Default: every preset a build uses.")
@click.option("--drop", multiple=True, metavar="BANK:PROGRAM",
              help="Leave this preset out (e.g. 0:0, MuseScore's 15 MB piano: the build's fallback plays it).")
def soundfont_subset(src: Path, dst: Path, presets: tuple[str, ...], drop: tuple[str, ...]) -> None:
    """Write DST holding only some presets of SRC (SF2 or SF3) with their instruments and samples.

    \b
    Example (the GPU machine's copy, docs/data.md):
      lmdm data soundfont-subset /usr/share/sounds/sf3/MuseScore_General_Lite.sf3 data/sf3/lmdm-v2.sf3 \\
          --drop 0:0 --drop 0:1 --drop 0:3
    """
    def parse(text: str) -> tuple[int, int]:
        try:
            bank, program = (int(v) for v in text.split(":"))
        except ValueError as err:
            raise click.BadParameter(f"{text!r} is not BANK:PROGRAM") from err
        return bank, program

    keep = {parse(p) for p in presets} if presets else sfont.build_presets()
    keep -= {parse(p) for p in drop}
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        size, absent = sfont.write_subset(src, dst, keep)
    except sfont.SoundFontError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"{dst}: {len(keep) - len(absent)} presets, {size / 1e6:.1f} MB")
    if absent:
        click.echo("absent from " + src.name + ": " + ", ".join(f"{b}:{p}" for b, p in absent))
