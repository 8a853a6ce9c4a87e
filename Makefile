# sgdescape — two commands do everything on a fresh machine:
#   make report   set up, fetch data, run every notebook, write reports/ (HTML + JSON)
#   make test     set up, go vet, go test, execute every notebook at quick scale, check the reports
# Other targets: make lab, make data, make bench, make bench-compare, make fuzz, make clean.
# Set-up is idempotent: a second run skips what is already installed.

SHELL       := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ROOT     := $(abspath .)
VENV     := $(ROOT)/.venv
PY       := $(VENV)/bin/python
TOOLS    := $(ROOT)/.tools
TOOLBIN  := $(TOOLS)/bin
SCALE    ?= quick
REPORTS  ?= reports
# Records of `sgdescape suite` to render instead of computing (make report
# SCALE=paper RECORDS=DIR); at paper scale notebooks/records is the default.
RECORDS  ?= $(if $(filter paper,$(SCALE)),notebooks/records)
# Notebooks executed at the same time (each in its own kernel): on 2 cores two
# fill each other's single-threaded stretches (GoNB compiling a cell, Go code
# on one core); 1 runs them one after another.
NB_JOBS  ?= 2
# Fuzzing budget per parser, as a number of executions (about 20 s each here):
# a time budget lets Go's fuzzer end in the middle of minimising an input and
# fail with "context deadline exceeded" (seen on a loaded 2-core machine).
FUZZTIME ?= 150000x
GO_MIN   := 1.26

GONB_VERSION      := v0.11.1
GOIMPORTS_VERSION := v0.52.0
MATHJAX_VERSION   := 2.7.9
MATHJAX_SHA256    := 7131e739848edc14aa661a5516995866b81a477fab8b039d7cc324930e71f786

export PATH := $(TOOLBIN):$(PATH)
export JUPYTER_DATA_DIR := $(VENV)/share/jupyter
# Build tags. `xla` (cgo): GoMLX's XLA backend, which runs the graphs on the
# XLA CPU PJRT plugin that `setup` installs into .venv (pkg/backend resolves
# it; GOMLX_BACKEND=go forces pure-Go SimpleGo). `openblas`: dense spectra use
# OpenBLAS + LAPACKE when they are installed (10× faster eigendecompositions),
# gonum's pure-Go code otherwise. GOFLAGS reaches every go command and the
# GoNB kernel.
OPENBLAS := $(shell [ -e /usr/include/lapacke.h ] && ls /usr/lib/*/libopenblas.so /usr/lib/libopenblas.so 2>/dev/null | head -1)
comma    := ,
GO_TAGS  := xla$(if $(OPENBLAS),$(comma)openblas)
export CGO_ENABLED := 1
# `-ldflags=-s` (no ELF symbol table; Go's own stack traces and profiles do
# not need it) halves the link of a cgo binary, 2.7 → 1.4 s here: GoNB links
# a fresh program for every cell, so that is about 100 s of the eight notebooks.
export GOFLAGS := -buildvcs=false -tags=$(GO_TAGS) -ldflags=-s
# Never let GoMLX download a PJRT plugin at run time (set-up installs pinned ones).
export GOMLX_NO_AUTO_INSTALL := 1
# GPU: NVIDIA's PJRT plugin from PyPI, installed when nvidia-smi finds a GPU or
# with `make report GPU=1`; it then becomes the backend (GOMLX_BACKEND) unless
# GOMLX_BACKEND is already set.
GPU ?= $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q GPU && echo 1)
CUDA_PLUGIN = $(firstword $(wildcard $(VENV)/lib/python3*/site-packages/jax_plugins/xla_cuda13/xla_cuda_plugin.so))
ifeq ($(GPU),1)
ifeq ($(origin GOMLX_BACKEND),undefined)
export GOMLX_BACKEND = $(if $(CUDA_PLUGIN),xla:$(CUDA_PLUGIN))
endif
export GOPJRT_CUDA_CHECKS ?= 0
endif
# The module proxy refuses GoNB's version list; resolve from the local module cache first.
GOPROXY_LOCAL = file://$$(go env GOMODCACHE)/cache/download,$$(go env GOPROXY)

.PHONY: help setup check-tools apt venv pjrt gotools kernel labconfig mathjax data report run-notebooks test test-go test-notebooks test-suite test-runner test-lab lab bench bench-compare fuzz clean

help:
	@sed -n '2,6p' Makefile | sed 's/^# \{0,1\}//'

# ---------------------------------------------------------------- set-up
check-tools:
	@command -v go >/dev/null || { echo "error: Go is not installed. Install Go $(GO_MIN) or newer from https://go.dev/dl/ and put it on PATH."; exit 1; }
	@v=$$(go env GOVERSION | sed 's/^go//'); if [ "$$(printf '%s\n' "$(GO_MIN)" "$$v" | sort -V | head -1)" != "$(GO_MIN)" ]; then echo "error: Go $$v is too old; sgdescape needs Go $(GO_MIN) or newer (https://go.dev/dl/)."; exit 1; fi
	@command -v python3 >/dev/null || { echo "error: python3 is not installed. Install Python 3.10+ (Debian: apt-get install python3 python3-venv)."; exit 1; }
	@python3 -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 10) else 1)' || { echo "error: Python 3.10+ with the venv module is required (Debian: apt-get install python3-venv)."; exit 1; }
	@command -v git >/dev/null || { echo "error: git is not installed (Debian: apt-get install git)."; exit 1; }
	@command -v gcc >/dev/null || { echo "error: a C compiler is needed for the XLA backend (cgo). Debian: apt-get install gcc."; exit 1; }

# System packages: Chromium (the report check renders MathJax headless),
# Fashion-MNIST (Debian's dataset-fashion-mnist) and OpenBLAS/LAPACKE (fast
# dense spectra). Installed with apt-get when run as root. Slurm and munge
# (the real single-node Slurm of the sweep test) only when root on Debian;
# elsewhere that test is skipped with a message.
apt: $(TOOLS)/apt.stamp
$(TOOLS)/apt.stamp: Makefile
	@mkdir -p $(TOOLS)
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; \
	 [ -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing="$$missing dataset-fashion-mnist"; \
	 [ -e /usr/include/lapacke.h ] || missing="$$missing liblapacke-dev"; \
	 ls /usr/lib/*/libopenblas.so >/dev/null 2>&1 || missing="$$missing libopenblas-dev"; \
	 slurm=""; for p in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge; do \
	   command -v $${p%%:*} >/dev/null || PATH="$$PATH:/usr/sbin:/sbin" command -v $${p%%:*} >/dev/null || slurm="$$slurm $${p##*:}"; done; \
	 if [ -n "$$slurm" ]; then \
	   if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then missing="$$missing$$slurm"; \
	   else echo "note: Slurm is not installed ($$slurm); the real-Slurm sweep test will be skipped"; fi; \
	 fi; \
	 if [ -n "$$missing" ]; then \
	   if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	     echo "==> apt-get install$$missing"; \
	     apt-get update -qq || { echo "error: apt-get update failed; is the Debian package mirror reachable?"; exit 1; }; \
	     DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || { echo "error: could not install$$missing with apt-get"; exit 1; }; \
	   else \
	     echo "error: missing system packages:$$missing. Install them (Debian/Ubuntu: sudo apt-get install$$missing) and rerun."; exit 1; \
	   fi; \
	 fi
	@touch $@

venv: $(VENV)/.installed
$(VENV)/.installed: requirements-dev.txt | check-tools
	@echo "==> Python environment in .venv (requirements-dev.txt)"
	@[ -x $(PY) ] || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt || { echo "error: pip could not install requirements-dev.txt; is PyPI reachable (or PIP_INDEX_URL set)?"; exit 1; }
	@touch $@

# PJRT plugins (pinned by version and sha256; pip refuses a mismatch): XLA's
# CPU plugin always, NVIDIA's CUDA plugin with GPU=1 (or when nvidia-smi finds
# a GPU). See pkg/backend/requirements-pjrt-*.txt for what and why.
PJRT_STAMPS := $(VENV)/.pjrt-cpu.installed $(if $(filter 1,$(GPU)),$(VENV)/.pjrt-cuda.installed)
pjrt: $(PJRT_STAMPS)
$(VENV)/.pjrt-%.installed: pkg/backend/requirements-pjrt-%.txt $(VENV)/.installed
	@echo "==> XLA PJRT $* plugin into .venv ($<)"
	@$(PY) -m pip install -q --disable-pip-version-check --no-deps --require-hashes -r $< || { echo "error: could not install the pinned PJRT $* plugin ($<): PyPI unreachable or checksum mismatch"; exit 1; }
	@touch $@

gotools: $(TOOLBIN)/gonb $(TOOLBIN)/goimports
$(TOOLBIN)/gonb: | check-tools
	@echo "==> GoNB $(GONB_VERSION) into .tools/bin"
	@go mod download github.com/janpfeifer/gonb@$(GONB_VERSION) || { echo "error: cannot download GoNB from the Go module proxy ($$(go env GOPROXY))"; exit 1; }
	@GOBIN=$(TOOLBIN) GOPROXY="$(GOPROXY_LOCAL)" go install github.com/janpfeifer/gonb@$(GONB_VERSION)
$(TOOLBIN)/goimports: | check-tools
	@echo "==> goimports $(GOIMPORTS_VERSION) into .tools/bin"
	@GOBIN=$(TOOLBIN) GOPROXY="$(GOPROXY_LOCAL)" go install golang.org/x/tools/cmd/goimports@$(GOIMPORTS_VERSION) || { echo "error: cannot install goimports from the Go module proxy"; exit 1; }

# Two kernel specs inside the venv's Jupyter data directory (never the user's
# global one): "gonb" for JupyterLab, "gonb_raw" (plain-text errors) for the runner.
KERNELS := $(VENV)/share/jupyter/kernels
kernel: $(KERNELS)/gonb_raw/kernel.json
$(KERNELS)/gonb_raw/kernel.json: $(VENV)/.installed $(TOOLBIN)/gonb $(TOOLBIN)/goimports
	@echo "==> registering the GoNB kernel in .venv"
	@$(TOOLBIN)/gonb --install --force_deps >/dev/null 2>&1 || { echo "error: gonb --install failed"; exit 1; }
	@mkdir -p $(KERNELS)/gonb_raw
	@$(PY) -c 'import json,sys; k=json.load(open(sys.argv[1])); k["argv"].append("--raw_error"); k["display_name"]="Go (gonb, raw errors)"; json.dump(k, open(sys.argv[2], "w"))' $(KERNELS)/gonb/kernel.json $@

# The project's own JupyterLab settings, inside .venv: no news pop-up, no
# update check, no extension manager (notebooks/tools/jupyter/).
LABCONF := notebooks/tools/jupyter
labconfig: $(VENV)/share/jupyter/lab/settings/overrides.json $(VENV)/etc/jupyter/jupyter_server_config.d/sgdescape.json
$(VENV)/share/jupyter/lab/settings/overrides.json: $(LABCONF)/overrides.json $(VENV)/.installed
	@mkdir -p $(@D) && cp $< $@
$(VENV)/etc/jupyter/jupyter_server_config.d/sgdescape.json: $(LABCONF)/jupyter_server_config.json $(VENV)/.installed
	@mkdir -p $(@D) && cp $< $@

# MathJax 2.7 (the version nbconvert's templates configure), served from
# reports/mathjax so that reports render equations offline.
mathjax: $(REPORTS)/mathjax/MathJax.js
$(TOOLS)/mathjax-$(MATHJAX_VERSION).tgz:
	@mkdir -p $(TOOLS)
	@command -v npm >/dev/null || { echo "error: npm is needed once to fetch MathJax (Debian: apt-get install npm)"; exit 1; }
	@cd $(TOOLS) && npm pack --silent mathjax@$(MATHJAX_VERSION) >/dev/null || { echo "error: cannot fetch mathjax@$(MATHJAX_VERSION) from the npm registry"; exit 1; }
	@echo "$(MATHJAX_SHA256)  $@" | sha256sum -c --quiet - || { echo "error: mathjax tarball checksum mismatch"; rm -f $@; exit 1; }
$(REPORTS)/mathjax/MathJax.js: $(TOOLS)/mathjax-$(MATHJAX_VERSION).tgz
	@echo "==> MathJax $(MATHJAX_VERSION) into $(REPORTS)/mathjax"
	@rm -rf $(REPORTS)/mathjax $(TOOLS)/mathjax && mkdir -p $(TOOLS)/mathjax $(REPORTS)/mathjax
	@tar -xzf $< -C $(TOOLS)/mathjax
	@cd $(TOOLS)/mathjax/package && cp -r --parents MathJax.js LICENSE config/TeX-AMS_CHTML-full.js extensions \
	   jax/input/TeX jax/output/CommonHTML jax/element fonts/HTML-CSS/TeX/woff localization/en $(ROOT)/$(REPORTS)/mathjax/
	@rm -rf $(TOOLS)/mathjax

setup: apt venv pjrt gotools kernel labconfig mathjax

# ---------------------------------------------------------------- data
data: setup
	@go run ./cmd/sgdescape data fetch

# ---------------------------------------------------------------- the main job
# The notebooks run in a sub-make so that GOFLAGS sees the libraries `setup` installed.
report: setup data
	@$(MAKE) --no-print-directory run-notebooks
run-notebooks:
	@echo "==> executing notebooks at $(SCALE) scale into $(REPORTS)/ (build tags: $(GO_TAGS); linear algebra: $(if $(OPENBLAS),OpenBLAS,gonum))$(if $(RECORDS), rendering the records in $(RECORDS))"
	@$(if $(RECORDS),SGDESCAPE_RECORDS=$(abspath $(RECORDS))) $(PY) notebooks/tools/nbrun.py --scale $(SCALE) --out $(REPORTS) --jobs $(NB_JOBS)

# ---------------------------------------------------------------- tests
TEST_REPORTS := $(TOOLS)/test-reports
test: setup data
	@$(MAKE) --no-print-directory test-go test-notebooks test-suite test-runner test-lab

test-go:
	@echo "==> gofmt, go vet ./..."
	@unformatted=$$(gofmt -l pkg cmd); if [ -n "$$unformatted" ]; then echo "error: not gofmt-formatted: $$unformatted (run gofmt -w pkg cmd)"; exit 1; fi
	@go vet ./...
	@echo "==> go test ./..."
	@go test -count=1 ./...
	@echo "==> every Go test again with SimpleGo forced (GOMLX_BACKEND=go; the Slurm test, which does not touch GoMLX, once is enough)"
	@GOMLX_BACKEND=go go test -count=1 -skip '^TestSlurmSweep$$' ./...
	@echo "==> without cgo: the pure-Go build (no xla tag, gonum linear algebra)"
	@CGO_ENABLED=0 go test -count=1 -tags= ./pkg/backend ./pkg/spectrum ./pkg/hessian ./pkg/noise
	@echo "==> fuzzing each parser ($(FUZZTIME) executions)"
	@$(MAKE) --no-print-directory fuzz

test-notebooks: mathjax
	@echo "==> executing every notebook at quick scale (scratch reports in .tools/test-reports)"
	@rm -rf $(TEST_REPORTS) && mkdir -p $(TEST_REPORTS) && cp -r $(REPORTS)/mathjax $(TEST_REPORTS)/
	@$(PY) notebooks/tools/nbrun.py --scale quick --out $(TEST_REPORTS) --jobs $(NB_JOBS)

# The paper suite at quick scale (its experiments come from the cache the
# notebooks just filled), then every notebook rendered from the suite's
# records with an empty cache: the key figures must be the computed ones.
test-suite:
	@echo "==> sgdescape suite quick into $(TEST_REPORTS)/records, then every notebook rendered from the records"
	@rm -rf $(TEST_REPORTS)/records $(TEST_REPORTS)/from-records
	@go run ./cmd/sgdescape suite quick -out $(TEST_REPORTS)/records
	@mkdir -p $(TEST_REPORTS)/from-records && cp -r $(TEST_REPORTS)/mathjax $(TEST_REPORTS)/from-records/
	@SGDESCAPE_RECORDS=$(TEST_REPORTS)/records SGDESCAPE_CACHE=$(TEST_REPORTS)/from-records/cache \
	  $(PY) notebooks/tools/nbrun.py --scale quick --out $(TEST_REPORTS)/from-records --jobs $(NB_JOBS) --no-index
	@$(PY) notebooks/tools/keyfigures.py $(TEST_REPORTS) $(TEST_REPORTS)/from-records

test-runner:
	@echo "==> runner and report checks (pytest)"
	@SGDESCAPE_TEST_REPORTS=$(TEST_REPORTS) $(PY) -m pytest -q notebooks/tools --ignore=notebooks/tools/test_lab.py

# JupyterLab in a real Chromium (Playwright): screenshots in .tools/test-reports/lab/.
test-lab:
	@echo "==> JupyterLab in Chromium: run 00_theory, move a what-if slider (screenshots in $(TEST_REPORTS)/lab)"
	@SGDESCAPE_LAB_SHOTS=$(TEST_REPORTS)/lab $(PY) -m pytest -q notebooks/tools/test_lab.py

# --allow-root only when run as root; LAB_PORT=0 picks a free port.
LAB_PORT ?= 8888
lab: setup data
	@$(PY) notebooks/tools/lab.py --port $(LAB_PORT)

bench:
	@go test -run '^$$' -bench . -benchtime 3x ./...

# sgdescape (XLA CPU) against PyTorch on the same workloads, same threads,
# interleaved paired repetitions, medians (cmd/benchcompare). PyTorch lives in
# its own pinned environment under .tools (not part of make test).
BENCH_VENV    := $(TOOLS)/bench-torch
BENCH_THREADS ?= 2
BENCH_REPS    ?= 5
bench-compare: setup data $(BENCH_VENV)/.installed
	@go run ./cmd/benchcompare -python $(BENCH_VENV)/bin/python -threads $(BENCH_THREADS) -reps $(BENCH_REPS)
$(BENCH_VENV)/.installed: cmd/benchcompare/requirements-torch.txt
	@echo "==> PyTorch (pinned, CPU threads) into $(BENCH_VENV) for make bench-compare"
	@[ -x $(BENCH_VENV)/bin/python ] || python3 -m venv $(BENCH_VENV)
	@$(BENCH_VENV)/bin/python -m pip install -q --disable-pip-version-check -r $< || { echo "error: pip could not install $<"; exit 1; }
	@touch $@

FUZZ_TARGETS := ./pkg/data:FuzzReadIDX ./pkg/data:FuzzReadCIFAR ./pkg/data:FuzzParseNPY ./pkg/data:FuzzParseCSV
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "   fuzz $$name ($$pkg)"; go test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 200x $$pkg; done

clean:
	rm -rf $(REPORTS) $(TOOLS)/test-reports
