# Two-command quick start: `make bench` (set up + default benchmark) and `make test` (set up + tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup bench test lint check leaderboard report ablation ablation-report clean

# pip (not uv/poetry): it takes torch/torchaudio from the machine's local wheel store (DESIGN.md §5).
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,dac,metrics]'
	touch $(STAMP)

setup: $(STAMP)

## Run the default codecs on the embedded real-speech set; results and a leaderboard go to
## results/local/ (untracked: the committed results are never rewritten by accident).
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

## Regenerate the committed results/LEADERBOARD.md and plots from the committed result files
## (add results with `bench run ... --out results` first): the explicit way to update the board.
leaderboard: $(STAMP)
	$(PY) -m bench leaderboard

## Static HTML report (tables, plots, listening examples) in results/report/ (not committed).
report: $(STAMP)
	$(PY) -m bench report --dataset librispeech-test-clean-122

## The TAAE ablation study as committed in results/ablation/ (hours on 2 CPU cores; resumes).
## Needs data/asterisk: see README "The TAAE model family".
ablation: $(STAMP)
	$(PY) -m taae ablate --scale tiny --bps 348 --seeds 0 1 2 --steps 1200 --jobs 2 --threads 1

## Regenerate results/ablation/ABLATION.md from the committed result files only.
ablation-report: $(STAMP)
	$(PY) -m taae ablate --stages report

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache results/.work
