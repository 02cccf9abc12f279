# fai-rl daily work. `make help` lists the targets. The first target that needs it creates .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ARGS   ?=
SWEEP  ?=
DIR    ?=

.DEFAULT_GOAL := help
.PHONY: help install train train-bg sweep report test test-fast docs faults bench clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

# test services the training environment cannot hold: full MLflow (its server needs SQLAlchemy 2; optuna 2.10 in
# .venv refuses it). The tests start its server on localhost from here.
SERVICES := .venv-services
$(SERVICES)/.installed: Makefile
	$(PYTHON) -m venv $(SERVICES)
	$(SERVICES)/bin/pip install --quiet "mlflow==3.17.2"
	@touch $@

install: $(STAMP) ## create .venv and install fai-rl with pinned dependencies (CPU torch)

train: $(STAMP) ## run the default job (DPO, tiny model, CPU); pass overrides with ARGS="key=value ..."
	$(BIN)/fai-rl $(ARGS)

train-bg: $(STAMP) ## like train, detached: survives the shell, output in logs/<run_name>-<time>.log, prints PID
	$(BIN)/python -m fai_rl.cli.background $(ARGS)

sweep: $(STAMP) ## run a sweep (multirun): SWEEP=<conf/sweep name, e.g. dpo_optuna> and/or ARGS="key=v1,v2 ..."
	@test -n "$(SWEEP)$(ARGS)" || { echo 'usage: make sweep SWEEP=dpo_optuna | make sweep ARGS="algorithm.beta=0.1,0.3"'; exit 2; }
	$(BIN)/fai-rl -m $(strip $(if $(SWEEP),sweep=$(SWEEP)) $(ARGS))

report: $(STAMP) ## table, CSV and plots of a sweep: DIR=multirun/<date>/<time> (default: the latest sweep)
	$(BIN)/python -m fai_rl.cli.report $(DIR)

test: $(STAMP) $(SERVICES)/.installed ## run the whole test suite (slow multi-process and server tests included)
	$(BIN)/python -m pytest $(ARGS)

test-fast: $(STAMP) ## run the tests not marked slow
	$(BIN)/python -m pytest -m "not slow" $(ARGS)

docs: $(STAMP) ## regenerate docs/config.md from the schema
	$(BIN)/python docs/config_reference.py

KILLS ?= 5
faults: $(STAMP) ## kill a run KILLS times (SIGKILL) at random moments, resume each time, check nothing was lost
	$(BIN)/python -m fai_rl.cli.faults --kills $(KILLS) $(ARGS)

bench: $(STAMP) ## benchmarks -> bench/RESULTS.md (~25 min on 2 cores); one part: ARGS="--only overhead"
	$(BIN)/python -m bench $(ARGS)

clean: ## remove run outputs (runs/, logs/, models/, multirun/ contents)
	rm -rf runs logs models outputs
	find multirun -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
