# Two commands on a fresh machine with Python 3.11+: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint typecheck pytest bench lock clean screenshots voice

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

## Serve on http://127.0.0.1:8000 in development mode, with the simulator at /simulator.
run: install
	HOTLINE_ENV=$${HOTLINE_ENV:-development} $(BIN)/hotline migrate
	@if command -v espeak-ng >/dev/null; then HOTLINE_ENV=$${HOTLINE_ENV:-development} $(BIN)/hotline voice build; \
	else echo "espeak-ng not installed: voice prompts will be spoken by Twilio's <Say> (apt-get install espeak-ng)"; fi
	HOTLINE_ENV=$${HOTLINE_ENV:-development} HOTLINE_SCHEDULER_IN_PROCESS=$${HOTLINE_SCHEDULER_IN_PROCESS:-true} \
		$(BIN)/hotline serve

## ruff, mypy --strict and the whole pytest suite (PostgreSQL too when HOTLINE_TEST_POSTGRES_URL is set).
test: install lint typecheck pytest

lint: install
	$(BIN)/ruff check hotline tests bench migrations/env.py
	$(BIN)/ruff format --check hotline tests bench migrations/env.py

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/pytest

## Render the voice prompts to audio (espeak-ng) and list what is still missing.
voice: install
	$(BIN)/hotline voice build
	$(BIN)/hotline voice check

## Renew docs/screenshots/ from the browser tests that write them: every test file using screenshots_dir
## (tests/admin/test_browser.py), found by grep so a new one is never left out.
screenshots: install
	HOTLINE_SCREENSHOTS=docs/screenshots HOTLINE_REQUIRE_BROWSER=1 $(BIN)/pytest \
		$(sort $(shell grep -rl --include='*.py' screenshots_dir tests))

## Benchmark the webhook (prints figures; see docs/BENCHMARKS.md).
bench: install
	$(BIN)/python -m bench.webhook

## Re-pin every dependency after changing pyproject.toml.
lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
