"""`lmdm data`: the click front end of lmdm_core.data.build (which also runs as `python -m` where click is absent)."""
from __future__ import annotations

from pathlib import Path

import click

from lmdm_core.data import build as builder
from lmdm_core.data.corpus import COLLECTIONS
from lmdm_core.data.render import DEFAULT_SOUNDFONT


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
@click.option("--heldout", type=float, default=0.1, show_default=True, help="Held-out share of works.")
@click.option("--export-only", is_flag=True, help="Write the works folder (MIDI + works.jsonl) and stop.")
@click.option("--renders", type=int, default=3, show_default=True, help="Renders per work.")
@click.option("--workers", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--max-seconds", type=float, default=180.0, show_default=True, help="Cut longer works here.")
@click.option("--soundfont", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=str(DEFAULT_SOUNDFONT), show_default=True)
@click.option("--stems/--no-stems", default=True, show_default=True, help="Write each voice alone too.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--only", default=None, help="Render only these collections (comma list) of the exported works.")
def build(works: Path, out: Path, collections: str | None, limit: int | None, heldout: float, export_only: bool,
          renders: int, workers: int, max_seconds: float, soundfont: Path, stems: bool, seed: int,
          only: str | None) -> None:
    """Export works from the music21 corpus and render them; resumable (a rerun only does what is missing).

    \b
    Examples:
      lmdm data build --collections bach --limit 20 --workers 2   # a small set
      lmdm data build --collections all --export-only             # MIDI to carry to a GPU machine
      lmdm data build --works data/works --out data/lmdm          # render an exported folder
    """
    cols = None if collections is None else (list(COLLECTIONS) if collections == "all" else collections.split(","))
    try:
        summary = builder.run(works, out, cols, limit, heldout, export_only, renders=renders, workers=workers,
                              max_seconds=max_seconds, soundfont=soundfont, with_stems=stems, seed=seed,
                              only=None if only is None else only.split(","))
    except (ValueError, FileNotFoundError) as err:
        raise click.ClickException(str(err)) from err
    click.echo(builder.format_summary(summary))
