# Nirantar - one Makefile for demo, test, lint and bench.
# `make demo` and `make test` work on a fresh clone; they create .venv themselves.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --disable-pip-version-check -q
STAMP  := $(VENV)/.installed
TESTSTAMP := $(VENV)/.installed-test
SYSSTAMP := $(VENV)/.system-packages

.PHONY: install install-test install-bench system-packages demo test test-sqlite test-postgres lint bench bench-quick messages clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -c constraints.txt -e .
	touch $@

install-test: $(TESTSTAMP) system-packages

# The tests cover the benchmarks' own code (the synthetic hospital uses Faker), so they
# install the bench extra too.
$(TESTSTAMP): $(STAMP)
	$(PIP) install -c constraints.txt -e '.[test,bench]'
	touch $@

install-bench: install-test

# Debian packages the node uses: Chromium's headless shell renders slips (about twice as
# fast at printing as the full browser, docs/printing.md), the full Chromium drives the
# browser tests, Noto fonts draw Hindi, poppler's pdftotext lets tests read a PDF's text
# layer. PostgreSQL's binaries
# are expected on the machine (tests start a throwaway server with them).
system-packages: $(SYSSTAMP)

$(SYSSTAMP):
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromium-headless-shell >/dev/null || missing="$$missing chromium-headless-shell"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	fc-list 2>/dev/null | grep -q "Noto Sans Devanagari" || missing="$$missing fonts-noto-core"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi
	@mkdir -p $(VENV) && touch $@

demo: install system-packages
	$(BIN)/nirantar --data-dir demo-data demo

PG_TESTS = tests/ledger tests/registration tests/accounts tests/web tests/opd tests/lab tests/wards tests/fhir tests/dedupe tests/billing tests/mis
# On PostgreSQL, not the hostile-input cases refused before any query is made (a malformed
# number, an odd slip format, markup in a field): they test parsing and templates, the same
# on both engines, and cost the PostgreSQL run about a minute. Every other hostile case
# (searches, NUL bytes, numbers never given) runs on both.
PG_SKIP = not malformed_number_is_refused and not odd_slip_format and not markup_in_a_name_or_a_coded_field
# Node-process tests run on the side line, after its SQLite run, to even out the two lines.
SIDE_SYSTEM = tests/system/test_hub_app_servers.py tests/system/test_merge_sync.py tests/system/test_billing_partition.py

# Two lines of tests at once, one per core of a 2-core machine. In front: the tests that
# start node processes or a browser (marked system or browser), which spend much of their
# time waiting on those. Beside them: the PostgreSQL run, then every other test on
# SQLite, then the node-process tests in SIDE_SYSTEM. Each test runs in exactly one of
# the SQLite runs. The side line's output follows the front's.
test: install-test
	$(MAKE) lint
	@base=$$(mktemp -d); \
	echo "Beside this: the PostgreSQL run, then the SQLite run of in-process tests (they report after it)"; \
	( NIRANTAR_TEST_DB=postgres $(BIN)/pytest -q -p no:cacheprovider --basetemp=$$base/pg \
	    -m "not browser and not system" -k "$(PG_SKIP)" $(PG_TESTS) > $$base/postgres.log 2>&1; \
	  echo $$? > $$base/postgres.rc; \
	  $(BIN)/pytest -q -p no:cacheprovider --basetemp=$$base/unit \
	    -m "not browser and not system" > $$base/unit.log 2>&1; \
	  echo $$? > $$base/unit.rc; \
	  $(BIN)/pytest -q -p no:cacheprovider --basetemp=$$base/side \
	    -m "system or browser" $(SIDE_SYSTEM) > $$base/side.log 2>&1; \
	  echo $$? > $$base/side.rc ) & side=$$!; \
	$(BIN)/pytest -q -m "system or browser" $(foreach f,$(SIDE_SYSTEM),--ignore=$(f)); front=$$?; \
	wait $$side; \
	echo "SQLite run, in-process tests:"; cat $$base/unit.log; \
	echo "Node-process tests run beside ($(SIDE_SYSTEM)):"; cat $$base/side.log; \
	echo "PostgreSQL run ($(PG_TESTS)):"; cat $$base/postgres.log; \
	unit=$$(cat $$base/unit.rc); postgres=$$(cat $$base/postgres.rc); \
	sidesys=$$(cat $$base/side.rc); rm -rf $$base; \
	test $$front -eq 0 && test $$unit -eq 0 && test $$postgres -eq 0 && test $$sidesys -eq 0

lint: install-test
	$(BIN)/ruff check nirantar tests bench scripts
	$(BIN)/ruff format --check nirantar tests bench scripts
	$(BIN)/mypy nirantar/ledger

bench: install-bench
	$(BIN)/python -m bench.run

# Every benchmark at a small size (minutes, not hours): see docs/benchmarks.md.
bench-quick: install-bench
	$(BIN)/python -m bench.run --quick

# Recompile Hindi translations after editing nirantar/locale/hi/LC_MESSAGES/django.po.
messages: install
	cd nirantar && ../$(BIN)/django-admin compilemessages -l hi

clean:
	rm -rf $(VENV) demo-data .pytest_cache .ruff_cache .mypy_cache
