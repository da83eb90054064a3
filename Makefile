# cilium-lab: every target installs into a local virtualenv (.venv) on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
OUT    ?= out
LABS   ?= my-labs

.PHONY: lab test test-all notebooks bench jupyter lint clean local-setup controlplane

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# setuptools' editable install ends with an "Editable installation." notice on every install (a
	@# warning about the checkout's folders, which it cannot act on here): that one message is filtered
	PYTHONWARNINGS='ignore:Editable installation' $(PY) -m pip install --quiet -e '.[test,jupyter]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

## make lab: run all labs, approved, on the embedded (simulated) cluster; executed notebooks and HTML in $(OUT)/
# exit 4 is a step that no node of the fleet can take (as the series expects on its kernels): not a failure
lab: $(STAMP)
	$(VENV)/bin/cilium-lab run --all --approve --html --out $(OUT) || test $$? -eq 4

## make test: lint, layer contracts and the test suite (root-only and browser tests run where possible);
## the local kernel lab's real-packet tests run last, alone, so no other test's load skews them
test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -n 2 --dist loadgroup -m "not root"
	$(VENV)/bin/pytest -m root

## make controlplane: build the real control plane the `controlplane` tests run (kube-apiserver,
## kube-controller-manager and etcd of the Kubernetes release pinned in controlplane/go.mod; needs Go and
## the Go module proxy; the first build takes a while, see controlplane/README.md)
CONTROLPLANE := controlplane/bin/cilium-lab-controlplane
# a build from the module cache has no git tree: stamp the release as kubernetes' own build does (hack/lib/version.sh)
K8S_VERSION_PKG := k8s.io/component-base/version
controlplane: $(CONTROLPLANE)

$(CONTROLPLANE): controlplane/go.mod controlplane/go.sum $(wildcard controlplane/*.go)
	cd controlplane && v=$$(awk '$$1 == "k8s.io/kubernetes" {print $$2}' go.mod) && minor=$${v#v1.} && \
	  GOFLAGS=-trimpath CGO_ENABLED=0 go build -o bin/cilium-lab-controlplane \
	    -ldflags="-s -w -X $(K8S_VERSION_PKG).gitVersion=$$v -X $(K8S_VERSION_PKG).gitMajor=1 -X $(K8S_VERSION_PKG).gitMinor=$${minor%%.*}" .

## make local-setup: install the local kernel lab's Debian packages (root; adds non-free for netperf)
local-setup:
	scripts/setup-local-lab.sh --enable-non-free

## make notebooks: regenerate cilium_lab/lab_notebooks/*.ipynb (outputs stripped) from their jupytext sources (*.py)
notebooks: $(STAMP)
	$(PY) -m cilium_lab.notebooks sync

## make bench: performance benchmarks that print their figures
bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

## make jupyter: JupyterLab on 127.0.0.1 with the labs open; every lab defaults to the embedded cluster.
## It opens a working copy of the notebooks in $(LABS)/, made on first use (`cilium-lab labs --copy`);
## refresh it with `cilium-lab labs --copy $(LABS) --force`
jupyter: $(STAMP)
	test -d $(LABS) || $(VENV)/bin/cilium-lab labs --copy $(LABS)
	$(VENV)/bin/jupyter lab --config=jupyter/jupyter_server_config.py --notebook-dir=$(LABS)

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) $(OUT) runs .pytest_cache .ruff_cache
