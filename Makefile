# Two-command quick start: `make bench` (set up + default benchmark) and `make test` (set up + tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup bench test lint check leaderboard clean

# pip (not uv/poetry): it takes torch/torchaudio from the machine's local wheel store (DESIGN.md §5).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,dac]'
	touch $(STAMP)

setup: $(STAMP)

## Run the default codecs on the embedded real-speech set and regenerate results/LEADERBOARD.md.
bench: $(STAMP)
	$(PY) -m bench run

## Lint, unit tests, then the regression gate against the committed baselines.
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q
	$(PY) -m bench check

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check bench audiocodecs taae tests

check: $(STAMP)
	$(PY) -m bench check

leaderboard: $(STAMP)
	$(PY) -m bench leaderboard

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache results/.work
