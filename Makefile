# Two entry points for a fresh machine (see README): `make book` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
# EGraFFBench's MACE/BOTNet need e3nn 0.4.4: a second environment (requirements-mace.txt)
MACE_VENV  ?= .venv-mace
MACE_STAMP  = $(MACE_VENV)/.installed

.PHONY: env env-mace book chapters html smoke test reproduce publish check-html linkcheck clean

env: $(STAMP)

# (Re)create the environment whenever pyproject.toml changes. torch==2.13.0 is the CPU wheel.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[all]'
	touch $(STAMP)

env-mace: $(MACE_STAMP)

$(MACE_STAMP): requirements-mace.txt
	test -x $(MACE_VENV)/bin/python || $(PYTHON) -m venv $(MACE_VENV)
	$(MACE_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(MACE_VENV)/bin/python -m pip install --quiet -r requirements-mace.txt
	touch $(MACE_STAMP)

# Execute every chapter at its embedded default (profile=book; stored results are loaded,
# missing ones computed and stored), then build the HTML with warnings as errors.
book: chapters html

chapters: env env-mace
	$(PY) -m mlffkit book execute

html: env
	$(VENV)/bin/jupyter-book build . --warningiserror --nitpick --keep-going

# Unit tests, every chapter at profile=smoke (tests/test_book.py), nbval over the committed
# notebooks (which load the stored book results), then Sphinx's check of the internal links.
test: env env-mace
	$(PY) -m pytest -q --nbval-lax tests book
	$(MAKE) linkcheck

# The rendered pages in headless Chromium (after `make book`; apt install chromium):
# formulas typeset, figures present, internal links and anchors resolve, provenance shown.
check-html: env
	$(PY) -m pytest -q tests/book

# Sphinx's link check of the internal links (external ones are listed, not checked).
linkcheck: env
	$(VENV)/bin/jupyter-book build . --builder linkcheck --path-output _build/linkcheck

# What the `book` workflow does, by hand: build from the stored results (nothing is trained)
# and push _build/html to the gh-pages branch.
publish: env
	CI=true $(MAKE) book
	$(VENV)/bin/ghp-import --no-jekyll --push --force _build/html

# Recompute every stored result, ignoring the store.
reproduce: env
	MLFFKIT_RECOMPUTE=1 $(PY) -m mlffkit book execute

clean:
	rm -rf _build
