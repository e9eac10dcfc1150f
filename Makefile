# Two commands on a fresh clone: `make demo` and `make test`. Each sets up what it needs.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install lock lint test test-fast demo browser pdf-libs axe bench clean

LOCK   := requirements/dev.txt
LOCK_TOOLS := .cache/lock-tools

# Installs exactly the locked set (every package pinned, with its hashes), then the project
# itself without resolving anything, then checks that the set fits the project's ranges.
$(STAMP): pyproject.toml $(LOCK)
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet 'pip==26.3'
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check
	touch $(STAMP)

install: $(STAMP)

# Refresh the lock deliberately: the newest releases within pyproject.toml's ranges, for the
# Python and platform CI runs on. Review the diff before committing it.
lock:
	@test -x $(LOCK_TOOLS)/bin/uv || { python3 -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/pip install --quiet uv; }
	$(LOCK_TOOLS)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --quiet \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		--custom-compile-command 'make lock' -o $(LOCK)

# Debian's Chromium drives the browser tests (no browser download works here).
browser: axe
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

# WeasyPrint (the learning summary's PDF) needs Pango, HarfBuzz's subsetter, fontconfig and a font.
PDF_LIBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 libfontconfig1 fonts-dejavu-core
pdf-libs:
	@dpkg -s $(PDF_LIBS) >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq $(PDF_LIBS) >/dev/null; }

# axe-core (npm registry), injected by the browser tests to check every page's accessibility.
AXE := .cache/axe/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE):
	npm install --silent --no-save --no-audit --no-fund --prefix .cache/axe axe-core@4

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
	$(VENV)/bin/lint-imports

# Three workers (pytest-xdist), each with its own temporary Prefect server; a file's tests
# stay on one worker.
test: $(STAMP) browser pdf-libs lint
	$(PY) -m pytest -q -n 3 --dist loadfile

# The quick lane while working: no Prefect server, browser or wheel build, and no lint.
test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not prefect and not browser and not packaging"

demo: $(STAMP) pdf-libs
	$(VENV)/bin/reviews up

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache .cache
