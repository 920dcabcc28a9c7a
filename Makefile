# vaxlink — two commands set everything up: `make demo` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_DIR ?= var/demo
DEMO_PERSONS ?= 20000

.PHONY: install install-browser demo test lint typecheck pytest bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[dev,bench,spark]"
	touch $(STAMP)

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here).
# Installed when running as root with apt-get; elsewhere the browser tests skip with a message.
BROWSER_STAMP := $(VENV)/.browser

$(BROWSER_STAMP): | $(PY)
	@if command -v chromium >/dev/null 2>&1 || [ -n "$$VAXLINK_CHROMIUM" ]; then \
		echo "chromium found"; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null) \
			|| echo "warning: chromium could not be installed; browser tests will skip"; \
	else \
		echo "note: chromium not installed (needs root + apt-get); browser tests will skip"; \
	fi
	touch $(BROWSER_STAMP)

install: $(STAMP)

install-browser: $(BROWSER_STAMP)

demo: install
	$(PY) -m api.demo --persons $(DEMO_PERSONS) --out $(DEMO_DIR)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

pytest: install install-browser
	$(VENV)/bin/pytest -q

test: lint typecheck pytest

bench: install
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
