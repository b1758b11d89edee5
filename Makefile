# Two entry points for a fresh machine (see README): `make book` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: env book chapters html smoke test reproduce clean

env: $(STAMP)

# (Re)create the environment whenever pyproject.toml changes. torch==2.13.0 is the CPU wheel.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all]'
	touch $(STAMP)

# Execute every chapter at its embedded default (profile=book; stored results are loaded,
# missing ones computed and stored), then build the HTML with warnings as errors.
book: chapters html

chapters: env
	$(PY) -m mlffkit book execute

html: env
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going

# Unit tests, every chapter at profile=smoke (tests/test_book.py), nbval over the committed
# notebooks (which load the stored book results).
test: env
	$(PY) -m pytest -q --nbval-lax tests book

# Recompute every stored result, ignoring the store.
reproduce: env
	MLFFKIT_RECOMPUTE=1 $(PY) -m mlffkit book execute

clean:
	rm -rf _build
