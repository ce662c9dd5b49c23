# Two commands matter: `make demo` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1:8000

.PHONY: demo test install install-dev serve lint bench clean browser

# Debian and Ubuntu ship venv separately: install it when we can (root), else say what is missing.
$(BIN)/python:
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is needed: none found on PATH"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed; $(PYTHON) is $$($(PYTHON) --version 2>&1)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV); \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    "python3-venv" "$$($(PYTHON) -c 'import sys; print(f"python3.{sys.version_info[1]}-venv")')" >/dev/null && \
	  $(PYTHON) -m venv $(VENV); } || \
	  { rm -rf $(VENV); echo "Cannot create $(VENV): install the venv module (Debian/Ubuntu: apt-get install python3-venv)"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## demo: set up the SQLite database with demo data and serve the portal and its worker
demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py demo_setup
	$(MAKE) --no-print-directory serve

serve:
	@echo "Portal on http://$(HOST)/ — press Ctrl-C to stop the server and the worker."
	@trap 'kill 0' INT TERM EXIT; \
	  $(BIN)/python manage.py jobs_worker & \
	  $(BIN)/python manage.py runserver --noreload $(HOST)

# The browser tests drive Debian's chromium; install it when we can (root on Debian).
browser:
	@test -x /usr/bin/chromium || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ; } || \
	  echo "chromium is not installed: browser tests will be skipped (install Debian's chromium)"

## test: the whole suite (on DATABASE_URL when set, else SQLite)
test: install-dev browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var staticfiles
