# Two entry points (see README): `make report` and `make test`. Both do all set-up first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    ?= out/report

.PHONY: setup report test lint bench clean

setup: $(STAMP)

# torch is installed first and pinned by constraints.txt so that no later install pulls a CUDA build.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[all,dev]"
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/steerstats report --dataset synthetic --out $(OUT)

lint: $(STAMP)
	$(BIN)/ruff check steerstats tests benchmarks analyses

test: $(STAMP) lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests

bench: $(STAMP)
	$(BIN)/steerstats bench all

clean:
	rm -rf $(VENV) out
