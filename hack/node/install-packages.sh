#!/usr/bin/env bash
# Installs the Debian packages a local node needs (harness/node.py, harness/images.py), unless they
# are there: containerd, runc and the CNI plugins run the Pods; buildah, debootstrap, busybox-static
# and gcc build the images without a registry; nftables and iproute2 make the node's network.
# Needs root and apt-get; says why and exits 1 otherwise.
set -euo pipefail

PACKAGES=(containerd runc containernetworking-plugins buildah debootstrap busybox-static nftables iproute2 gcc libc6-dev)

log() { echo "node: $*" >&2; }

missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]} == 0)); then
    log "Debian packages present: ${PACKAGES[*]}"
    exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
    log "not root: cannot install ${missing[*]} (the node needs root anyway)"
    exit 1
fi
if ! command -v apt-get >/dev/null; then
    log "no apt-get: install ${missing[*]} by hand (the node is tested on Debian bookworm)"
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
log "installing ${missing[*]}"
# A fresh machine may have no package lists yet: update once if the first try fails.
if ! apt-get install -y -q "${missing[@]}" >/dev/null; then
    apt-get update -q >/dev/null
    apt-get install -y -q "${missing[@]}" >/dev/null
fi
log "installed ${missing[*]}"
