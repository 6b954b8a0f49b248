# Sourced by the scripts/gpu/*.sh: put the carried wheels (.whl/, listed in docs/data.md; click among them, since every
# `python3 -m lmdm_core...` entry is a click command) on the GPU machine's path.
# NO_WHEELS=1 skips the install and leaves /tmp/site off the path (a dry run here, with PY=.venv/bin/python).
if [ -n "${NO_WHEELS:-}" ]; then
    export PYTHONPATH=. PYTHONUNBUFFERED=1
else
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl 2>/dev/null || exit 1
    export PYTHONPATH=/tmp/site:. PYTHONUNBUFFERED=1
fi
