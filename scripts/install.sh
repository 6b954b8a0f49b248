#!/usr/bin/env bash
# Installs lmdm into ./.venv. With --test also the system packages, npm packages and the Pd external the tests use.
set -euo pipefail
cd "$(dirname "$0")/.."

py=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$py" -m venv .venv
# Pin torch first: an open range would pull several GB of CUDA wheels on a machine without torch.
.venv/bin/python -c 'import torch' 2>/dev/null || .venv/bin/pip install -q torch==2.13.0
.venv/bin/pip install -q -e '.[test]'
# The SoundFont synth of the data pipeline; its metadata asks for pyaudio, which it does not need and which cannot build
# without PortAudio headers, hence --no-deps.
.venv/bin/python -c 'import tinysoundfont' 2>/dev/null || .venv/bin/pip install -q --no-deps tinysoundfont==0.3.7

mode=${1:-}
# --arm64 (make deken, make test-arm64) is --test plus lmdm~'s Linux arm64 cross build and its arm64 Pd (below).
[ "$mode" = "--test" ] || [ "$mode" = "--arm64" ] || exit 0

# The packages of one pyproject extra, space-separated. tomllib is Python >= 3.11; on 3.10 (pyproject allows it) pip's
# vendored tomli reads the same file.
extra() {
  .venv/bin/python -c '
import sys
try:
    import tomllib
except ImportError:
    from pip._vendor import tomli as tomllib
print(" ".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"][sys.argv[1]]))' "$1"
}

# The reconstruction evaluation's extra (tests/eval/test_reconstruction.py): the pinned list of pyproject's `eval`
# extra and basic-pitch, all with --no-deps (basic-pitch declares tensorflow; the list is the closure its onnxruntime
# path imports). About 450 MB in the venv, most of it llvmlite (numba, for librosa), scipy and onnxruntime.
if ! .venv/bin/python -c 'import basic_pitch, librosa, mir_eval, onnxruntime' 2>/dev/null; then
  eval_pkgs=$(extra eval)
  # shellcheck disable=SC2086
  .venv/bin/pip install -q --no-deps $eval_pkgs basic-pitch==0.4.0
fi

# The reference implementation for the parity tests (tests/reference/): pyproject's `reference` extra, --no-deps (its
# metadata asks for torchaudio, gradio, wandb, ...; the model path needs only this list and the test extra).
if ! .venv/bin/python -c 'import stable_audio_tools, einops, einops_exts, alias_free_torch' 2>/dev/null; then
  ref_pkgs=$(extra reference)
  # shellcheck disable=SC2086
  .venv/bin/pip install -q --no-deps $ref_pkgs
fi

apt_pkgs="puredata-core puredata-dev pd-lib-builder libzmq3-dev libmsgpack-dev liblo-tools jackd2 libportaudio2
  fluidsynth timgm6mb-soundfont musescore-general-soundfont-small pkg-config"
apt_pkgs="$apt_pkgs deken"   # make -C bridge/pd deken (tests/pd/test_pd_deken.py)
# `lmdm monitor` runs in a real tmux pane; `systemd-analyze verify` checks the unit of `lmdm service` (systemd's tools
# only: no running systemd is needed, tests/bridge/test_service.py).
apt_pkgs="$apt_pkgs tmux systemd"
# The layout test opens every patch in Pd's real Tk GUI on an Xvfb screen, in the font Pd picks on Linux
# (tests/pd/test_pd_layout.py).
apt_pkgs="$apt_pkgs puredata-gui xvfb xauth fonts-dejavu-core"
missing=""
for p in $apt_pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "installing Debian packages:$missing"
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends $missing
fi

# Debian's deken installs its own Python dependencies (hy) into ~/.local/share/deken-debian on its first run.
[ -d "$HOME/.local/share/deken-debian/virtualenv" ] || DEKEN_ROOT=yes deken -h >/dev/null

# --arm64: the aarch64 cross compiler and arm64 multiarch libraries (about 80 MB to download, mostly arm64 libc and
# the boost headers libmsgpack-dev pulls in), debootstrap and qemu-user for the arm64 root of scripts/arm64_root.sh.
# Not in --test: the suite's deken test builds the amd64 package only.
if [ "$mode" = "--arm64" ]; then
  sudo_cmd=""; [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $sudo_cmd dpkg --add-architecture arm64 && $sudo_cmd apt-get update -q
  fi
  arm64_pkgs="gcc-aarch64-linux-gnu libc6-dev-arm64-cross libzmq3-dev:arm64 libmsgpack-dev:arm64 debootstrap qemu-user"
  missing=""
  for p in $arm64_pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
  # shellcheck disable=SC2086
  [ -z "$missing" ] || DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends $missing
fi

# The Pd external (pd-lib-builder) and the Max bridge's npm packages.
[ -f bridge/pd/Makefile ] && make -s -C bridge/pd
js=patches/max/lmdm/javascript
if [ -f "$js/package.json" ]; then
  (cd "$js" && { [ -f package-lock.json ] && npm ci --no-audit --no-fund --silent || npm install --no-audit --no-fund --silent; })
fi
exit 0
