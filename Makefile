# The two set-up commands of the README. Each installs what it needs, then runs.
.PHONY: serve test deken test-arm64 pd-screenshots max-drawings

serve:
	./scripts/install.sh
	.venv/bin/lmdm serve

test:
	./scripts/install.sh --test
	.venv/bin/python -m pytest -q

# The deken package of lmdm~ for Linux amd64 and arm64 (build/deken/, docs/pd.md "Prebuilt packages").
deken:
	./scripts/install.sh --arm64
	$(MAKE) -C bridge/pd deken

# lmdm~.l_arm64 in real arm64 Pd under qemu-user against the x86 worker (not in `make test`: the arm64 root is made
# with debootstrap, about a minute, then cached in build/arm64-root).
test-arm64:
	./scripts/install.sh --arm64
	$(MAKE) -C bridge/pd arch=arm64
	./scripts/arm64_root.sh build/arm64-root
	.venv/bin/python -m pytest -q -s tests/pd/arm64_loopback.py

# docs/pd/*.png: each Pd patch as the real Pd GUI draws it (Tk under Xvfb, the layout test's plugin grabs the window;
# needs ImageMagick's `import` besides what install.sh --test installs).
pd-screenshots:
	.venv/bin/python tests/pd/gui/pdgui.py docs/pd patches/pd/*.pd

# docs/max/*.png: each Max patcher drawn from its JSON (Max cannot run here), patching and presentation views.
max-drawings:
	.venv/bin/python scripts/max_drawings.py docs/max
