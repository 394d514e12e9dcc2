#!/usr/bin/env bash
# `make e2e-kind`: the example gallery on real nodes. Builds the tfguard and probe images from the
# Dockerfile, creates a kind cluster, loads the images into it, installs the chart (webhook and
# operator in the cluster, certificates issued by the operator) and runs the same gallery as
# `make demo` and tests/e2e, checking each example's outcome in each mode.
#
# Needs Docker, kind, kubectl and helm on PATH (kubectl and helm fall back to the ones
# hack/control-plane/tools.py caches). Where there is no Docker engine it stops with a message;
# the project's tests only lint this script (shellcheck).
#
#   KIND_CLUSTER=tfguard-e2e  cluster name (created if missing, deleted at the end unless KEEP_CLUSTER=1)
#   TAG=e2e                   tag of the two images
#   PYTHON=.venv/bin/python   the dev venv (tfguard installed, TF venvs from `make tf-envs`)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="${KIND_CLUSTER:-tfguard-e2e}"
TAG="${TAG:-e2e}"
KEEP_CLUSTER="${KEEP_CLUSTER:-0}"
PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
RELEASE=tfguard
NAMESPACE=tfguard-system
CACHE="${TFGUARD_CACHE:-$HOME/.cache/tfguard}"

log() { echo "e2e-kind: $*" >&2; }
die() { log "$*"; exit 1; }

# kubectl and helm: PATH first, else the pinned ones the control-plane tools cache.
find_tool() {
    local name="$1" found
    if found="$(command -v "$name")"; then
        echo "$found"
        return
    fi
    found="$(find "$CACHE/tools" -maxdepth 2 -type f -path "*/$name-*/$name" 2>/dev/null | sort | tail -n 1)"
    [[ -n "$found" ]] || die "$name is needed (not on PATH, nor under $CACHE/tools: run make control-plane)"
    echo "$found"
}

command -v docker >/dev/null || die "Docker is needed (kind runs its nodes as containers); none on PATH"
docker info >/dev/null 2>&1 || die "no Docker engine answers (docker info failed); make e2e-kind needs one"
command -v kind >/dev/null || die "kind is needed: go install sigs.k8s.io/kind@latest"
KUBECTL="$(find_tool kubectl)"
HELM="$(find_tool helm)"
[[ -x "$PYTHON" ]] || die "no dev venv at $PYTHON: run make install"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/tfguard-e2e-kind.XXXXXX")"
export KUBECONFIG="$WORK/kubeconfig"
created_cluster=0

cleanup() {
    local rc=$?
    if [[ "$created_cluster" == 1 && "$KEEP_CLUSTER" != 1 ]]; then
        log "deleting kind cluster $CLUSTER"
        kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

cd "$REPO"
log "building images tfguard/tfguard:$TAG and tfguard/probe:$TAG"
docker build --target tfguard -t "tfguard/tfguard:$TAG" .
docker build --target probe -t "tfguard/probe:$TAG" .

if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    log "reusing kind cluster $CLUSTER"
else
    log "creating kind cluster $CLUSTER"
    kind create cluster --name "$CLUSTER" --wait 180s
    created_cluster=1
fi
kind get kubeconfig --name "$CLUSTER" >"$KUBECONFIG"
kind load docker-image --name "$CLUSTER" "tfguard/tfguard:$TAG" "tfguard/probe:$TAG"

log "installing the chart into $NAMESPACE"
"$HELM" upgrade --install "$RELEASE" charts/tfguard \
    --namespace "$NAMESPACE" --create-namespace \
    --set image.tag="$TAG" --set image.pullPolicy=Never \
    --set probe.image.tag="$TAG" --set probe.image.pullPolicy=Never \
    --wait --timeout 5m

log "waiting for the operator to inject the webhook CA"
for _ in $(seq 1 90); do
    bundle="$("$KUBECTL" get validatingwebhookconfiguration "$RELEASE" -o jsonpath='{.webhooks[0].clientConfig.caBundle}' 2>/dev/null || true)"
    [[ -n "$bundle" ]] && break
    sleep 2
done
[[ -n "${bundle:-}" ]] || die "no caBundle injected into the webhook configurations after 180 s"
"$KUBECTL" -n "$NAMESPACE" rollout status "deployment/$RELEASE-webhook" --timeout 180s

log "running the gallery"
"$PYTHON" -m harness.gallery --kubectl "$KUBECTL" --check
log "passed"
