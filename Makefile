# The two commands of the README: `make run` and `make test`.  Both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
REQUIREMENTS := requirements-dev.txt gateway/requirements.txt $(wildcard services/*/requirements.txt)

.PHONY: run test bench install clean

$(BIN)/.installed: $(REQUIREMENTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

run: install
	@if [ -z "$$AMQP_URI" ]; then scripts/ensure-services.sh rabbitmq; fi
	$(BIN)/python scripts/run_platform.py

# tests/browser runs in a plain pytest: Playwright's sync API hangs under the monkey patch of
# eventlet that `nameko test` applies (tests/browser/conftest.py leaves it out of that run)
test: install
	scripts/ensure-services.sh rabbitmq postgresql
	scripts/ensure-chromium.sh
	$(BIN)/python scripts/run_tests.py
	$(BIN)/python -m pytest tests/browser -q -p no:cacheprovider --suppress-nameko-eventlet-notification

bench: install
	scripts/ensure-services.sh rabbitmq
	$(BIN)/python bench/submit_complaints.py

clean:
	rm -rf $(VENV) var
