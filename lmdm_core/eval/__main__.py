"""`python -m lmdm_core.eval`: the `lmdm eval` command itself (eval/cli.py), e.g. on the GPU machine with --device cuda."""
from lmdm_core.eval.cli import eval_command

if __name__ == "__main__":
    eval_command(prog_name="python -m lmdm_core.eval")
