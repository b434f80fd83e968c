# The course's commands. A fresh machine needs only two of them (see README.md):
#   make book   set everything up, then build the website
#   make test   set everything up, then run the whole test suite
# Run `make help` for the rest.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
# TensorFlow's info lines stay out of logs. (utils.config.quiet_tensorflow turns on
# oneDNN's fast CPU kernels, TF_ENABLE_ONEDNN_OPTS=1, and drops their start-up notice.)
export TF_CPP_MIN_LOG_LEVEL := 2

SETUP_STAMP := $(VENV)/.setup-done
DATA_STAMP  := $(VENV)/.data-done

.DEFAULT_GOAL := help
.PHONY: help prerequisites setup data book test test-fast lab serve lint format bench clean clean-cache \
        translations translations-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-18s %s\n", $$1, $$2}'

# What the machine must provide (Python 3.10-3.13, Fashion-MNIST, Chromium for `make test`):
# checked first, all at once, by a standard-library script; one message lists what is missing.
PREREQUISITES_FOR ?= book
test: PREREQUISITES_FOR = test

prerequisites: ## check the machine first: Python, Fashion-MNIST, Chromium (for test); list what is missing
	@$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) scripts/check_prerequisites.py --for $(PREREQUISITES_FOR)

setup: prerequisites $(SETUP_STAMP) $(DATA_STAMP) ## create .venv with the pinned packages and fetch the data (once)

$(SETUP_STAMP): requirements.txt requirements-nodeps.txt pyproject.toml | prerequisites
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(BIN)/python -m pip install --quiet --no-deps --editable .
	touch $@

$(DATA_STAMP): $(SETUP_STAMP)
	$(BIN)/python -m utils.data fetch --allow-download
	touch $@

data: ## fetch the data sets again (AILM_DATA_DIR chooses where)
	rm -f $(DATA_STAMP)
	$(MAKE) $(DATA_STAMP)

# The Chinese edition is built beside the English one, into _build/html/zh_CN: the same
# sources, its text from locales/zh_CN, its outputs from the jupyter-cache and the English
# build, which it waits for where it must (nothing executes twice). scripts/book.py runs
# both builds at once (--sequential: one after the other) and logs each in _build/.
book: setup ## build the website: English into _build/html, Chinese into _build/html/zh_CN
	$(BIN)/python scripts/book.py -W -n --keep-going
	@echo "Open file://$(CURDIR)/_build/html/index.html"
	@echo "or serve it with: make serve   (then http://localhost:$(PORT))"

# Two steps. 1: unit tests and every notebook (nbval), two pytest workers at once, each
# notebook whole on one worker with its share of the cores (conftest.py). 2: the book
# build, which takes the notebooks' outputs from the cache, and the site tests over it.
TEST_WORKERS ?= 2

test: setup ## run the whole test suite: unit tests, every notebook (nbval), the book build
	$(BIN)/python -m pytest -m "not book and not browser" -n $(TEST_WORKERS) --dist loadfile
	$(BIN)/python -m pytest -m "book or browser"

test-fast: setup ## unit and structure tests only (no notebooks, no book build)
	$(BIN)/python -m pytest tests -m "not slow and not book and not browser"

# JupyterLab also reads the course's defaults from jupyter_config/ (added to the search
# path; ~/.jupyter is neither read for them nor written): a .py lab opens as a notebook on
# double-click (jupytext's viewer), and jupyterlab-myst renders the MyST roles.
JUPYTER_ENV := JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter_config$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))

lab: setup ## open the labs in JupyterLab (double-click a .py lab: it opens as a notebook)
	$(JUPYTER_ENV) $(BIN)/jupyter lab labs/

serve: ## serve the built website on http://localhost:$(PORT)
	@test -f _build/html/index.html || { echo "No built book: run make book first."; exit 1; }
	$(BIN)/python -m http.server $(PORT) --directory _build/html

lint: setup ## ruff: lint and format check
	$(BIN)/ruff check utils labs tests conftest.py _ext scripts
	$(BIN)/ruff format --check utils labs tests conftest.py _ext scripts

format: setup ## ruff: fix what can be fixed, format
	$(BIN)/ruff check --fix utils labs tests conftest.py _ext scripts
	$(BIN)/ruff format utils labs tests conftest.py _ext scripts

bench: setup ## time the setup, a cached rebuild and each lab; print the figures
	$(BIN)/python scripts/benchmark.py

# After a change to English text: extract it, merge it into the catalogues (changed
# messages come out fuzzy, new ones empty), reuse the twins' translations; then translate
# the empty and fuzzy entries in locales/zh_CN/LC_MESSAGES and run translations-check.
translations: setup ## extract the English text and merge it into locales/zh_CN (then translate)
	$(BIN)/python scripts/i18n.py extract
	$(BIN)/python scripts/i18n.py update
	$(BIN)/python scripts/i18n.py fill-twins
	$(BIN)/python scripts/i18n.py stats

translations-check: setup ## every English message translated, nothing broken (per file, message)
	$(BIN)/python scripts/i18n.py check

clean: ## remove the built book, executed notebooks and lab results (keeps .venv and data)
	rm -rf _build

clean-cache: ## forget executed notebooks, so the next build runs every notebook again
	rm -rf _build/.jupyter_cache
