# The two commands a new user needs: `make run` (the whole system on this machine) and `make test`.
# Each creates the virtual environment and installs what it needs on first use.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)

.PHONY: run test install bench clean

run: $(STAMP)
	$(PY) -m tools.devstack

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

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

bench: $(STAMP)
	for script in bench/*.py; do $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) .openpost cdk.out chalice.out .cache .pytest_cache
