# Every target bootstraps first (Debian packages as root, .venv, Node packages): a fresh
# Debian 12 machine needs nothing but `make sim` or `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
KOFU   := $(VENV)/bin/kofu
BENCH  ?= hil_tests/benches/sim.toml
PORT   ?= /dev/ttyACM0
# pytest-xdist workers: the pcscd group (whole simulations, the card) runs on one, every other
# directory beside it (conftest.py); more workers than cores only adds contention.
TEST_WORKERS ?= 2

.PHONY: bootstrap sim test lint typecheck pytest firmware-check bench hil flash clean \
	test-clock fuzz

bootstrap:
	@bash tools/bootstrap.sh

sim: bootstrap
	$(KOFU) sim

test: bootstrap lint typecheck firmware-check pytest

lint: bootstrap
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

typecheck: bootstrap
	$(VENV)/bin/mypy --strict protocol drivers
	$(VENV)/bin/mypy host sim center documents bench
	$(PY) tools/firmware_typecheck.py

pytest: bootstrap
	$(VENV)/bin/pytest -q -n $(TEST_WORKERS) --durations=25

# The clock-sensitive suites with the machine's clock shifted by faketime to each instant that
# matters (tools/shifted_clock.py); long, so not part of `make test`.
test-clock: bootstrap
	$(PY) tools/shifted_clock.py

# Every decoder fed 10^6 random and mutated inputs (10^5 for the slow ones; FUZZ_INPUTS,
# FUZZ_SEED to change), one JSON line each, crashing inputs kept in tests/fuzz/corpus/
# (bench/fuzz/); then the property tests with random seeds and many more examples, for
# FUZZ_MINUTES (default 10).
fuzz: bootstrap
	$(PY) -m bench.fuzz $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))
	$(PY) tools/fuzz.py

firmware-check: bootstrap
	$(PY) tools/firmware_check.py

bench: bootstrap
	$(KOFU) bench

hil: bootstrap
	$(VENV)/bin/pytest -q hil_tests --bench=$(BENCH)

flash: bootstrap
	$(PY) tools/flash.py --port $(PORT)

clean:
	rm -rf $(VENV) tools/node/node_modules .sim-state .mypy_cache .pytest_cache .ruff_cache
