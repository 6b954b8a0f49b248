"""The `lmdm arc` command: ARC-Forcing post-training (arguments are those of `python -m lmdm_core.arc.run`)."""
from __future__ import annotations

import click


@click.command("arc", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
               add_help_option=False)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def arc_command(args: tuple[str, ...]) -> None:
    """ARC-Forcing post-training of a stage-1 checkpoint on its own rollouts (see `lmdm arc --help`)."""
    from lmdm_core.arc.run import main

    try:
        main(list(args))
    except (FileNotFoundError, ValueError) as err:
        raise click.ClickException(str(err)) from err
