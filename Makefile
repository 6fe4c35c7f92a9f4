# Two-command quick start: `make bench` (set up + default benchmark) and `make test` (set up + tests).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup bench test lint check leaderboard report ablation ablation-confirm ablation-report \
	adversarial clean

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

## The TAAE ablation study as committed in results/ablation_tinyspec/ (30 runs of 8–19 min on one
## thread, then ≈ 3 min per model to evaluate; resumes). Needs data/asterisk: see README.
ablation: $(STAMP)
	$(PY) -m taae ablate --scale tinyspec --bps 348 --seeds 0 1 2 3 4 5 --steps 2000 --jobs 1 \
		--threads 1 --no-ladder

## The pre-registered confirmation (results/ablation_tinyspec/PREREGISTRATION.md): seeds 6–11 of
## the same five variants, two seeds at a time (one thread each; each seed trains its five runs in
## turn, ≈ 65 min, then evaluates them exactly like seeds 0–5), then the quantization gaps. Resumes.
CONFIRM_SEEDS ?= 6 7 8 9 10 11
ABLATE_348 := $(PY) -m taae ablate --scale tinyspec --bps 348 --steps 2000 --jobs 1 --threads 1 \
	--no-ladder --workers 1
ABLATION_CODECS := taae_fsq_348,taae_rvq_348,taae_fsq_ste_348,taae_fsq_noise_348,taae_fsq_none_348
ablation-seed-%: $(STAMP)
	OMP_NUM_THREADS=1 $(ABLATE_348) --seeds $* --stages train eval
	OMP_NUM_THREADS=1 TAAE_CHECKPOINTS=$(CURDIR)/runs/ablation_tinyspec/seed$*/checkpoints \
		$(PY) -m bench run --codecs $(ABLATION_CODECS) --dataset librispeech-test-clean-122 \
		--metrics spk_sim,distillmos --workers 1 --out results/ablation_tinyspec/seed$* \
		--no-progress --no-leaderboard
ablation-confirm: $(STAMP)
	$(MAKE) -j2 $(addprefix ablation-seed-,$(CONFIRM_SEEDS))
	OMP_NUM_THREADS=1 $(ABLATE_348) --seeds $(CONFIRM_SEEDS) --stages gap

## Its longer-training check: FSQ hybrid and STE only, seeds 0–2, 6,000 steps (≈ 35 min per run).
ablation-6k: $(STAMP)
	$(PY) -m taae ablate --scale tinyspec --bps 348 --seeds 0 1 2 --steps 6000 --variants hybrid \
		ste --jobs 1 --threads 1 --no-ladder --runs runs/ablation_tinyspec_6k \
		--results results/ablation_tinyspec_6k --compare-with results/ablation_tinyspec

## The adversarial stage of issue #24 behind `taae_fsq` / `taae_rvq` (results/recipes.md A4): each
## preset fine-tunes its reconstruction-only checkpoint over a 4,000-step schedule (≈ 80 min on one
## thread; resumes) and ships step 2,000, the step chosen on dev-clean. Needs data/asterisk (README).
## Exports into checkpoints/ (what `make adversarial` changes).
ADV_DATA := ../shared/data/speech/ljspeech ../shared/data/speech/librispeech/other data/asterisk
adversarial: $(STAMP)
	for p in tinyspec_fsq_hybrid_adv_613bps tinyspec_rvq_adv_613bps; do \
		$(PY) -m taae train --preset $$p --threads 1 --data $(ADV_DATA) \
			--val-data ../shared/data/speech/librispeech/dev-clean --out runs/$$p && \
		$(PY) -m taae export runs/$$p/step_002000 --out checkpoints/$$p || exit 1; \
	done

## Regenerate both studies' ABLATION.md from the committed result files only.
## (The 6,000-step side study first: the main report quotes its verdicts.)
ablation-report: $(STAMP)
	if [ -f results/ablation_tinyspec_6k/study.json ]; then $(PY) -m taae ablate --stages report \
		--results results/ablation_tinyspec_6k --runs runs/ablation_tinyspec_6k; fi
	$(PY) -m taae ablate --stages report --results results/ablation_tinyspec

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache results/.work
