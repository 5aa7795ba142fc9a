# Lipschitz Lectures: `make book` builds the HTML book, `make test` runs every test.
# Both create .venv (Python 3.11) when it is missing and (re)install requirements.txt when it
# or pyproject.toml changed since the last install (a stamp file in .venv records that).

PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.requirements-installed
JOBS   ?= 2

# Optional: take torch from another index before the rest of requirements.txt, e.g. PyTorch's
# CPU-only wheels on Linux (PyPI's Linux torch is the multi-GB CUDA build; see README):
#   make test TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
TORCH_INDEX_URL ?=
TORCH_PIN := $(shell grep -E '^torch==' requirements.txt)

# MPLBACKEND=Agg in the environment silently removes every figure from the executed pages.
unexport MPLBACKEND

BUILD := $(BIN)/jupyter-book build -W -n --keep-going

# pytest exits with 5 when it collects no tests. Every step below must run tests, so that
# means the step is misconfigured: say so, and fail.
pytest = $(BIN)/python -m pytest $(1) || { rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests for: $(1)" >&2; fi; exit $$rc; }

.PHONY: all book test test-fresh test-seeds test-gpu lint unit notebooks build-test serve strip venv clean

all: book

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(BIN)/python
ifneq ($(strip $(TORCH_INDEX_URL)),)
	$(BIN)/python -m pip install "$(TORCH_PIN)" --index-url "$(TORCH_INDEX_URL)"
endif
	$(BIN)/python -m pip install -r requirements.txt
	touch $@

# --all: re-read (and so re-execute) every page, even when only the package changed.
book: $(STAMP)
	$(BUILD) --all .

# The whole suite, in this order; the first failing step stops it. OMP_NUM_THREADS=1 where
# two pytest-xdist workers share the two cores (each would otherwise start one thread a core).
# The last step builds the book once for the `book` tests and the `browser` tests (headless
# Chromium; skipped, saying how to install it, where chromium and chromedriver are missing).
test: $(STAMP)
	$(BIN)/ruff check .
	OMP_NUM_THREADS=1 $(call pytest,tests src/lipbook --doctest-modules -n $(JOBS) -m "not book and not browser")
	OMP_NUM_THREADS=1 $(call pytest,--nbmake -n $(JOBS) book/)
	$(call pytest,tests/test_book.py tests/test_browser.py tests/test_explorer_browser.py -m "book or browser" -rs)

# A fresh clone of the committed HEAD in a temporary folder, running the two commands of the
# README's "Two commands" block exactly as written there (with their own new .venv). Not part
# of `make test`; .ci/run runs both. Uncommitted changes are not in the clone. The folder is
# removed when both commands succeed and kept (its path printed) when one fails.
test-fresh:
	@set -e; tmp=$$(mktemp -d); \
	cmds=$$(awk '/^## Two commands/ {s = 1} s && /^```bash/ {b = 1; next} b && /^```/ {exit} b && /^make /' README.md); \
	test $$(echo "$$cmds" | wc -l) -eq 2 || { echo "README: expected two 'make' lines under '## Two commands'" >&2; exit 1; }; \
	git clone --quiet "$(CURDIR)" "$$tmp/lipschitz-lectures"; cd "$$tmp/lipschitz-lectures"; \
	echo "$$cmds" | while IFS= read -r cmd; do \
		echo "== test-fresh, in $$PWD: $$cmd"; start=$$(date +%s); \
		bash -c "$$cmd" </dev/null || { echo "== test-fresh: '$$cmd' FAILED in $$PWD" >&2; exit 1; }; \
		echo "== test-fresh: '$$cmd' passed in $$(( $$(date +%s) - start )) s"; \
	done; \
	cd /; rm -rf "$$tmp"; echo "== test-fresh: both README commands passed on a fresh clone"

# The book's claims on other machines: every notebook through nbmake under the book-level seeds
# LIPBOOK_SEED = 1, 2 and 3 (every chapter derives all its seeds from it, lipbook.book_seed),
# then once with seed 0 on torch's non-vectorized CPU kernels (ATEN_CPU_CAPABILITY=default),
# which round differently, as another CPU would. Not part of `make test`; .ci/run runs it.
SEEDS ?= 1 2 3
test-seeds: $(STAMP)
	@set -e; for s in $(SEEDS); do \
		echo "== test-seeds: LIPBOOK_SEED=$$s"; \
		LIPBOOK_SEED=$$s OMP_NUM_THREADS=1 $(call pytest,--nbmake -n $(JOBS) book/); \
	done
	@echo "== test-seeds: LIPBOOK_SEED=0 ATEN_CPU_CAPABILITY=default"
	LIPBOOK_SEED=0 ATEN_CPU_CAPABILITY=default OMP_NUM_THREADS=1 $(call pytest,--nbmake -n $(JOBS) book/)

# On a machine with an NVIDIA GPU: the `cuda` tests (which must not be skipped here), every
# chapter on the GPU (LIPBOOK_DEVICE=cuda), and the benchmarks with --device cuda.
test-gpu: $(STAMP)
	@$(BIN)/python -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else \
		'test-gpu: torch sees no CUDA device (torch ' + torch.__version__ + ')')"
	$(call pytest,tests -m cuda -rs)
	LIPBOOK_DEVICE=cuda $(call pytest,--nbmake book/)
	$(BIN)/python benchmarks/train_step.py --device cuda --widths 128
	$(BIN)/python benchmarks/sweep.py --device cuda --widths 128
	$(BIN)/python benchmarks/playground.py --device cuda

# The steps of `make test` one at a time.
lint: $(STAMP)
	$(BIN)/ruff check .

unit: $(STAMP)
	OMP_NUM_THREADS=1 $(call pytest,tests src/lipbook --doctest-modules -n $(JOBS) -m "not book and not browser")

notebooks: $(STAMP)
	OMP_NUM_THREADS=1 $(call pytest,--nbmake -n $(JOBS) book/)

build-test: $(STAMP)
	$(call pytest,tests/test_book.py tests/test_browser.py tests/test_explorer_browser.py -m "book or browser" -rs)

serve:
	@test -f _build/html/index.html || { echo "no _build/html yet: run 'make book' first" >&2; exit 1; }
	@echo "Serving the book at http://127.0.0.1:8000/ (Ctrl-C to stop)"
	$(PYTHON) -m http.server 8000 --bind 127.0.0.1 --directory _build/html

# Clear outputs, execution counts and saved widget state from the notebooks in book/
# (they are committed without them; the book executes them when it builds).
define STRIP_PY
import glob, nbformat
for path in sorted(glob.glob("book/*.ipynb")):
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(nb, path)
endef
export STRIP_PY

strip: $(STAMP)
	$(BIN)/python -c "$$STRIP_PY"

clean:
	rm -rf _build
