# The two commands of the README, each doing its own set-up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench install

# The demo needs comms alone; the test tools (playwright is most of the venv) only for tests.
$(BIN)/comms: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(BIN)/comms

$(VENV)/.test-tools: $(BIN)/comms
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(VENV)/.test-tools

install: $(VENV)/.test-tools

demo: $(BIN)/comms
	$(BIN)/comms demo

test: install
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  echo "note: Debian's chromium is not installed; browser tests will be skipped (apt-get install chromium)"
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python bench/contacts.py
	$(BIN)/python bench/send.py
	$(BIN)/python bench/incident_io.py
	$(BIN)/python bench/page.py
