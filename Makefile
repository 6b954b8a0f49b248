# The two set-up commands of the README. Each installs what it needs, then runs.
.PHONY: serve test

serve:
	./scripts/install.sh
	.venv/bin/lmdm serve

test:
	./scripts/install.sh --test
	.venv/bin/python -m pytest -q
