"""The deken package (`make -C bridge/pd deken`, Debian's deken tool) installs and works in real Pd.

The suite builds the amd64-only archive (DEKEN_ARCHS=amd64: no cross compiler needed); `make deken` builds amd64 and
arm64, and tests/pd/arm64_loopback.py opens that one in arm64 Pd.
"""
from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import pytest

from pdrun import ROOT, PD_DIR, build_deken, errors_in, loaded_from, quitter, run_pd

VERSION = re.search(r'^version = "(.+)"$', (ROOT / "pyproject.toml").read_text(), re.M).group(1)


@pytest.fixture(scope="module")
def dek(tmp_path_factory) -> Path:
    return build_deken("amd64", tmp_path_factory.mktemp("deken"))


def test_meta_version_is_the_package_version():
    meta = (PD_DIR / "lmdm-meta.pd").read_text()
    assert f"#X text 10 34 VERSION {VERSION};" in meta


def test_deken_writes_archive_checksum_and_objects(dek: Path):
    assert dek.name == f"lmdm[v{VERSION}](Linux-amd64-32)(Sources).dek"
    sha = Path(f"{dek}.sha256").read_text().split()[0]
    assert sha == hashlib.sha256(dek.read_bytes()).hexdigest()
    objects = Path(f"{dek}.txt").read_text().splitlines()
    assert [line.split("\t")[0] for line in objects] == ["lmdm~"]
    assert "Live Music Diffusion Model" in objects[0], objects
    names = set(zipfile.ZipFile(dek).namelist())
    assert {"lmdm/lmdm~.l_amd64", "lmdm/lmdm~-help.pd", "lmdm/lmdm-meta.pd", "lmdm/lmdm~.c", "lmdm/Makefile"} <= names
    assert all(n.startswith("lmdm/") for n in names), names


def test_help_patch_opens_from_the_unpacked_package(dek: Path, tmp_path: Path):
    """Unpacked into an empty folder that is Pd's only search path, the help patch opens and lmdm~ loads from it."""
    where = tmp_path / "externals"
    zipfile.ZipFile(dek).extractall(where)
    help_patch = where / "lmdm" / "lmdm~-help.pd"
    out = run_pd(help_patch, timeout=20, extra_open=(quitter(tmp_path),), paths=False,
                 flags=("-nostdpath", "-verbose", "-path", str(where)))
    assert "pd killed after timeout" not in out, out
    assert str(where / "lmdm" / "lmdm~.l_amd64") in loaded_from(out), out
    assert "lmdm~ 0.1: Live Music Diffusion Models for Pd" in out, out
    assert not errors_in(out), out
