"""A real Kubernetes node on this machine, next to a local control plane: Pods really run.

    with Node() as node:                      # control plane + scheduler + containerd + kubelet
        node.cp.kubectl("apply", "-f", "examples/loads/deployment.yaml", "-n", "ml")
        node.image_digests["tensorflow/tensorflow:2.15.1"]   # sha256:... as containerd holds it

What runs (docs/control-plane.md, "A real node"):
- the control plane of harness.controlplane with kube-scheduler, the API server listening on the
  node's bridge address so that Pods reach it;
- containerd, runc and the CNI plugins from Debian packages (hack/node/install-packages.sh), with
  their own config, sockets and state under RUN_DIR; containerd's image store is kept in the cache
  ($TFGUARD_CACHE/node/containerd) so images are imported once (harness.images);
- the kubelet built with the control plane (same module, same release), registered as NODE_NAME
  with a client certificate from the control plane's CA;
- Pod networking: the CNI `bridge` plugin on BRIDGE (made here, with its address, so the plugin
  never turns on IP forwarding for the host) and host-local IPAM; one nft rule does for the
  `kubernetes` Service what kube-proxy would (its ClusterIP to the API server). Webhook Services
  need no rule: the API server runs with --enable-aggregator-routing and calls endpoints directly.

containerd and the kubelet write to some fixed host paths and make cgroups, so there is one node per
machine at a time: a lock (LOCK) makes a second one wait, saying who holds it. `stop()` leaves
nothing behind (processes, mounts, cgroups, the nft table, the bridge, host paths), and so does the
next start after an owner that died without stopping (`sweep`). `unavailable()` says why a machine
cannot run a node (not root, no cgroups, packages missing, ...).
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterable, Optional, Sequence

from harness import images as images_mod
from harness.controlplane import (
    KUBERNETES_SERVICE_IP, REPO, ChildProcess, CommandFailed, ControlPlane, ControlPlaneError, _tail,
    cache_dir, ensure_binaries, run_command, versions,
)

NODE_NAME = "tfguard-node"
BRIDGE = "tfg0"
POD_SUBNET = "10.87.0.0/24"
NODE_IP = "10.87.0.1"  # the bridge's address: the node's InternalIP, where Pods reach the API server
CNI_NETWORK = "tfguard"
RUN_DIR = Path("/run/tfguard-node")  # sockets, containerd state, netns mounts, configs
VAR_DIR = Path("/var/lib/tfguard-node")  # kubelet root dir, pod logs, IPAM state
LOCK = Path("/run/tfguard-node.lock")  # outside RUN_DIR: held while RUN_DIR is made and removed
OWNER = Path("/run/tfguard-node.owner")  # who holds the lock, for the one who waits
CGROUP_ROOT = "tfguard-node"  # the kubelet's cgroupRoot, in every v1 hierarchy
NFT_TABLE = "tfguard_node"
CNI_BIN_DIRS = ("/usr/lib/cni", "/opt/cni/bin")
# Paths containerd and the kubelet use whatever their config says: only our entries are removed.
CONTAINER_LOGS = Path("/var/log/containers")  # the kubelet's symlinks to pod logs
CNI_CACHE = Path("/var/lib/cni")  # libcni's result cache
SHIM_SOCKETS = Path("/run/containerd")  # containerd 1.6 puts shim sockets in /run/containerd/s

INSTALL_PACKAGES = REPO / "hack" / "node" / "install-packages.sh"


# The node's tests are opt-in: on a cold machine its images cost about half an hour of building, and a
# machine holds one node at a time, so sessions that share it would queue (BENCHMARKS.md, "A real node").
ENABLE_ENV = "TFGUARD_NODE"


def enabled_for_tests() -> bool:
    """Whether tests run on a real node (TFGUARD_NODE=1, as `make test-node` and CI's node job set)."""
    return os.environ.get(ENABLE_ENV) == "1"


class NodeError(ControlPlaneError):
    """The node could not start or stop; the message says why (with a log tail)."""


def node_binaries() -> dict[str, Path]:
    pins = versions()
    bin_dir = cache_dir() / "control-plane" / pins["KUBERNETES_VERSION"] / "bin"
    return {"kubelet": bin_dir / "kubelet", "crictl": bin_dir / f"crictl-{pins['CRI_TOOLS_VERSION']}"}


def containerd_root() -> Path:
    return cache_dir() / "node" / "containerd"


def _cni_bin_dir() -> Optional[str]:
    return next((d for d in CNI_BIN_DIRS if os.path.exists(os.path.join(d, "bridge"))), None)


def unsuitable() -> Optional[str]:
    """Why this machine can never run a node (no package would help), or None."""
    if not sys.platform.startswith("linux"):
        return "a node needs Linux"
    if os.geteuid() != 0:
        return "a node needs root (containerd, runc, mounts, cgroups, network namespaces)"
    controllers = _cgroup_controllers()
    if controllers is None:
        return "no cgroup hierarchy is mounted at /sys/fs/cgroup"
    missing_controllers = {"cpu", "memory", "pids"} - controllers
    if missing_controllers:
        return f"the cgroup controllers {', '.join(sorted(missing_controllers))} are not available"
    if "overlay" not in Path("/proc/filesystems").read_text():
        return "the kernel has no overlay filesystem (containerd's snapshotter)"
    return None


def missing_packages() -> list[str]:
    """The Debian packages hack/node/install-packages.sh installs that are not here."""
    tools = {"containerd": "containerd", "runc": "runc", "ctr": "containerd", "nft": "nftables", "ip": "iproute2",
             "buildah": "buildah", "debootstrap": "debootstrap", "busybox": "busybox-static", "gcc": "gcc"}
    absent = sorted({package for tool, package in tools.items() if shutil.which(tool) is None})
    if _cni_bin_dir() is None:
        absent.append("containernetworking-plugins")
    return absent


def unavailable() -> Optional[str]:
    """None when this machine can run a node; else why not, in words (a skip reason)."""
    why = unsuitable()
    if why:
        return why
    absent = missing_packages()
    if absent:
        return f"Debian packages missing: {', '.join(absent)} (hack/node/install-packages.sh, run by make node)"
    return None


def _cgroup_controllers() -> Optional[set[str]]:
    root = Path("/sys/fs/cgroup")
    if (root / "cgroup.controllers").exists():  # v2 only
        return set((root / "cgroup.controllers").read_text().split())
    found = set()
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        if right.startswith("cgroup "):
            found |= set(right.split()[2].split(","))
    return found or None


def cgroup_v1() -> bool:
    return not Path("/sys/fs/cgroup/cgroup.controllers").exists()


# --- one node per machine -----------------------------------------------------------------------


class NodeLock:
    """flock on LOCK; the kernel releases it when the holder dies, so a crash never wedges the next run."""

    held_here = False  # this process holds it: a second Node here would wait for itself

    def __init__(self, timeout: float, say=print):
        self.timeout = timeout
        self.say = say
        self._file = None

    def __enter__(self) -> "NodeLock":
        if NodeLock.held_here:
            raise NodeError("this process runs a node already (one node per machine): use that one")
        self._file = open(LOCK, "a+")
        deadline = time.monotonic() + self.timeout
        next_note = 0.0
        while True:
            try:
                fcntl.flock(self._file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = self.holder()
                if time.monotonic() > deadline:
                    self._file.close()
                    raise NodeError(
                        f"the node of this machine is in use by {holder} and did not come free in "
                        f"{self.timeout:.0f}s; one node runs per machine (containerd and the kubelet "
                        f"use fixed host paths), so runs sharing a machine take turns"
                    ) from None
                if time.monotonic() >= next_note:
                    self.say(f"node: waiting for the node of this machine, in use by {holder}")
                    next_note = time.monotonic() + 30
                time.sleep(1)
        OWNER.write_text(json.dumps({"pid": os.getpid(), "since": time.strftime("%H:%M:%S"),
                                     "command": " ".join(sys.argv)[:200]}))
        NodeLock.held_here = True
        return self

    @staticmethod
    def holder() -> str:
        try:
            owner = json.loads(OWNER.read_text())
            return f"pid {owner['pid']} ({owner['command']}) since {owner['since']}"
        except (OSError, ValueError, KeyError):
            return "another process"

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                OWNER.unlink()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
            NodeLock.held_here = False


# --- what a node leaves on the host, and removing it --------------------------------------------


def _mounts_under(prefixes: Iterable[Path]) -> list[str]:
    prefixes = [str(p).rstrip("/") + "/" for p in prefixes]
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if any((point + "/").startswith(p) for p in prefixes):
            found.append(point)
    return found


def _cgroup_dirs() -> list[Path]:
    """Our cgroup root in every hierarchy that has one."""
    root = Path("/sys/fs/cgroup")
    if not cgroup_v1():
        return [root / CGROUP_ROOT] if (root / CGROUP_ROOT).exists() else []
    return [h / CGROUP_ROOT for h in sorted(root.iterdir()) if (h / CGROUP_ROOT).is_dir()]


def _pids_in(cgroup: Path) -> set[int]:
    pids = set()
    for procs in cgroup.rglob("cgroup.procs"):
        with contextlib.suppress(OSError, ValueError):
            pids |= {int(p) for p in procs.read_text().split()}
    return pids


def _our_daemons() -> set[int]:
    """containerd, its shims and the kubelet of this node (found by the paths in their command lines)."""
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        text = b" ".join(argv)
        if str(RUN_DIR).encode() in text and Path(argv[0].decode(errors="replace")).name in (
            "containerd", "containerd-shim-runc-v2", "kubelet", "containerd-shim",
        ):
            found.add(int(proc.name))
    return found


def _kill(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def _wait_gone(pids: set[int], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while pids and time.monotonic() < deadline:
        pids = {p for p in pids if Path(f"/proc/{p}").exists() and not _zombie(p)}
        time.sleep(0.05)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


def _quiet(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True)


def sweep() -> list[str]:
    """Remove everything a node leaves on the host (call it holding the lock). Returns what it removed,
    for the log; after a clean stop() there is nothing left for it to find."""
    removed: list[str] = []
    # 1. Processes: every container (all are in our cgroups), the shims, containerd, the kubelet.
    for _ in range(3):
        pids = _our_daemons() | {p for c in _cgroup_dirs() for p in _pids_in(c)}
        pids.discard(os.getpid())
        if not pids:
            break
        removed.append(f"{len(pids)} processes")
        _kill(pids)
        _wait_gone(pids)
    # 2. Mounts: container root filesystems, network namespaces, pod volumes (deepest first).
    for point in sorted(_mounts_under([RUN_DIR, VAR_DIR, containerd_root()]), key=len, reverse=True):
        if _quiet("umount", "--lazy", point).returncode == 0:
            removed.append(f"mount {point}")
    # 3. cgroups, bottom up.
    for top in _cgroup_dirs():
        for directory in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                directory.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()
            removed.append(f"cgroup {top}")
    # 4. Network: the nft table and the bridge (veths go with their namespaces).
    if _quiet("nft", "list", "table", "ip", NFT_TABLE).returncode == 0:
        _quiet("nft", "delete", "table", "ip", NFT_TABLE)
        removed.append(f"nft table {NFT_TABLE}")
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        _quiet("ip", "link", "delete", BRIDGE)
        removed.append(f"bridge {BRIDGE}")
    # 5. Host paths: ours whole, the shared ones only our entries.
    for directory in (RUN_DIR, VAR_DIR):
        if directory.exists():
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(str(directory))
    removed += _remove_fixed_path_entries()
    return removed


def _remove_fixed_path_entries() -> list[str]:
    removed = []
    created = _created_paths()
    if CONTAINER_LOGS.is_dir():
        for link in CONTAINER_LOGS.iterdir():
            if link.is_symlink() and os.readlink(link).startswith(str(VAR_DIR)):
                link.unlink()
                removed.append(str(link))
    for entry in (CNI_CACHE / "results").glob(f"{CNI_NETWORK}-*") if (CNI_CACHE / "results").is_dir() else ():
        entry.unlink()
        removed.append(str(entry))
    shim_dir = SHIM_SOCKETS / "s"
    if shim_dir.is_dir():
        live = _bound_unix_sockets()
        for socket in shim_dir.iterdir():
            if str(socket) not in live:
                with contextlib.suppress(OSError):
                    socket.unlink()
                    removed.append(str(socket))
    # Directories this node created (recorded at start) go too, once empty.
    for path in sorted(created, key=len, reverse=True):
        with contextlib.suppress(OSError):
            Path(path).rmdir()
            removed.append(path)
    with contextlib.suppress(OSError):
        _created_record().unlink()
    return removed


def _bound_unix_sockets() -> set[str]:
    try:
        lines = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return set()
    return {line.split()[-1] for line in lines if len(line.split()) >= 8}


def _created_record() -> Path:
    return Path("/run/tfguard-node.created")


def _created_paths() -> list[str]:
    try:
        return json.loads(_created_record().read_text())
    except (OSError, ValueError):
        return []


def _remember_created(paths: Iterable[Path]) -> None:
    """Before the node starts: note which shared host directories do not exist yet, to remove them after."""
    absent = set(_created_paths())
    for path in paths:
        for candidate in [path, *path.parents]:
            if str(candidate) in ("/", "/run", "/var", "/var/lib", "/var/log"):
                break
            if not candidate.exists():
                absent.add(str(candidate))
    _created_record().write_text(json.dumps(sorted(absent)))


def footprint() -> dict[str, list[str]]:
    """What a node could leave on this host, as comparable lists (tests compare before and after)."""
    links = sorted(Path("/sys/class/net").iterdir()) if Path("/sys/class/net").exists() else []
    tables = _quiet("nft", "list", "tables").stdout.split("\n") if shutil.which("nft") else []
    names = ("containerd", "containerd-shim-runc-v2", "kubelet", "pause")
    processes = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if (proc / "comm").read_text().strip() in names and not _zombie(int(proc.name)):
                    processes.append((proc / "comm").read_text().strip())
    paths = [str(p) for p in (RUN_DIR, VAR_DIR, CNI_CACHE, SHIM_SOCKETS, Path("/var/lib/kubelet"), Path("/var/log/pods"),
                              Path("/run/netns"), Path("/etc/cni"), Path("/opt/containerd")) if p.exists()]
    logs = sorted(str(p) for p in CONTAINER_LOGS.iterdir()) if CONTAINER_LOGS.is_dir() else []
    cgroups = [str(p) for p in _cgroup_dirs()]
    return {
        "processes": sorted(processes),
        "mounts": sorted(_mounts_under([RUN_DIR, VAR_DIR, containerd_root(), Path("/run/netns"), Path("/var/lib/kubelet")])),
        "cgroups": sorted(cgroups),
        "links": sorted(l.name for l in links if l.name == BRIDGE or l.name.startswith("veth")),
        "nft": sorted(t.strip() for t in tables if t.strip()),
        "paths": sorted(paths),
        "container logs": logs,
    }


# --- configuration ------------------------------------------------------------------------------


def _containerd_config(cni_bin: str) -> str:
    state = RUN_DIR / "containerd"
    return f"""version = 2
root = "{containerd_root()}"
state = "{state}"
oom_score = 0
[grpc]
  address = "{RUN_DIR / 'containerd.sock'}"
[ttrpc]
  address = "{RUN_DIR / 'containerd-ttrpc.sock'}"
[debug]
  level = "warn"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{RUN_DIR / 'opt'}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{images_mod.PAUSE.name}"
  netns_mounts_under_state_dir = true
  enable_selinux = false
  # Where root lacks CAP_SYS_RESOURCE (as in some VMs), lowering a container's oom_score_adj below
  # containerd's own fails runc's create ("can't get final child's PID from pipe"): keep it at least ours.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{RUN_DIR / 'runc'}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{RUN_DIR / 'cni'}"
    max_conf_num = 1
"""


def _cni_config() -> dict:
    return {
        "cniVersion": "1.0.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": BRIDGE,
                # Not the gateway: the bridge and its address are made beforehand, so the plugin
                # never turns on net.ipv4.ip_forward for the whole host.
                "isGateway": False,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_SUBNET, "gateway": NODE_IP}]],
                    "routes": [{"dst": "0.0.0.0/0", "gw": NODE_IP}],
                    "dataDir": str(VAR_DIR / "ipam"),
                },
            },
        ],
    }


def _kubelet_config(cp: ControlPlane, serving: "KeyPairLike", healthz_port: int) -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": healthz_port,
        "tlsCertFile": str(serving.cert_path),
        "tlsPrivateKeyFile": str(serving.key_path),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(cp.ca_path)},
        },
        # Only holders of a certificate from the control plane's CA get this far (the API server).
        "authorization": {"mode": "AlwaysAllow"},
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{CGROUP_ROOT}",
        "failCgroupV1": False,
        "failSwapOn": False,
        # Otherwise it writes KUBE-FIREWALL rules into the host's tables.
        "makeIPTablesUtilChains": False,
        "podLogsDir": str(VAR_DIR / "pod-logs"),
        "containerRuntimeEndpoint": f"unix://{RUN_DIR / 'containerd.sock'}",
        "clusterDomain": "cluster.local",
        "resolvConf": "/etc/resolv.conf",
        # Images are imported, not pulled: never collect them, and never evict for a busy shared disk.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%",
                         "nodefs.inodesFree": "1%"},
        "serializeImagePulls": False,
        "registerNode": True,
        "maxPods": 60,
        "shutdownGracePeriod": "0s",
        "staticPodPath": "",
        "syncFrequency": "10s",
        "fileCheckFrequency": "20s",
        "nodeStatusUpdateFrequency": "10s",
        "containerLogMaxSize": "5Mi",
        "containerLogMaxFiles": 2,
    }


KeyPairLike = object


# --- the node -----------------------------------------------------------------------------------


class Node:
    """A control plane with kube-scheduler, and this machine as its one node.

    Attributes once started: `cp` (the ControlPlane), `image_digests` ({image name: manifest digest}
    as containerd holds it), `logs` (name -> log file), `timings` (seconds to each milestone),
    `containerd_address`."""

    def __init__(
        self,
        *,
        images: Optional[Sequence[images_mod.Image]] = None,
        lock_timeout: float = 1200.0,
        startup_timeout: float = 120.0,
        say=None,
        **control_plane_args,
    ):
        self.wanted_images = images
        self.lock_timeout = lock_timeout
        self.startup_timeout = startup_timeout
        self.say = say or (lambda message: print(message, file=sys.stderr, flush=True))
        self.control_plane_args = control_plane_args
        self.cp: Optional[ControlPlane] = None
        self._lock: Optional[NodeLock] = None
        self._processes: list[ChildProcess] = []
        self.image_digests: dict[str, str] = {}
        self.logs: dict[str, Path] = {}
        self.timings: dict[str, float] = {}
        self.containerd_address = str(RUN_DIR / "containerd.sock")

    def __enter__(self) -> "Node":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # lifecycle

    def start(self, images_only: bool = False) -> "Node":
        """Start the node; with `images_only`, only containerd, to import the images (make images)."""
        why = unavailable()
        if why:
            raise NodeError(f"this machine cannot run a node: {why}")
        for name, path in node_binaries().items():
            if not os.access(path, os.X_OK):
                ensure_binaries()
                break
        began = time.monotonic()
        mark = lambda what: self.timings.__setitem__(what, round(time.monotonic() - began, 2))  # noqa: E731
        self._lock = NodeLock(self.lock_timeout, say=self.say).__enter__()
        atexit.register(self.stop)
        mark("lock")
        try:
            leftovers = sweep()
            if leftovers:
                self.say(f"node: removed what an earlier node left behind: {', '.join(leftovers[:8])}"
                         + (" ..." if len(leftovers) > 8 else ""))
            self._prepare_host()
            mark("host")
            if not images_only:
                self.cp = ControlPlane(scheduler=True, bind_address=NODE_IP, **self.control_plane_args).start()
                mark("control plane")
                self._route_kubernetes_service()
            self._start_containerd()
            mark("containerd")
            self.image_digests = images_mod.ensure(self.containerd_address, self._image_state(), self.wanted_images)
            mark("images")
            if images_only:
                return self
            self._crictl("rmp", "--all", "--force", what="removing Pods an earlier node left in containerd")
            self._start_kubelet()
            self._wait_ready()
            mark("node ready")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self._lock is None:
            return
        kubelet = next((p for p in self._processes if p.name == "kubelet"), None)
        if kubelet is not None:
            kubelet.stop()
        containerd = next((p for p in self._processes if p.name == "containerd"), None)
        if containerd is not None and containerd.running():
            # Through the CRI, so each sandbox's network is torn down by its CNI plugins.
            with contextlib.suppress(CommandFailed, OSError):
                self._crictl("rmp", "--all", "--force", what="removing the node's Pods", timeout=120)
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()
        if self.cp is not None:
            self.cp.stop()
            self.cp = None
        sweep()
        self._lock.__exit__(None, None, None)
        self._lock = None

    # the host

    def _prepare_host(self) -> None:
        _remember_created([CONTAINER_LOGS, CNI_CACHE / "results", SHIM_SOCKETS / "s"])
        for directory in (RUN_DIR / "cni", RUN_DIR / "opt", VAR_DIR / "kubelet", VAR_DIR / "pod-logs", VAR_DIR / "ipam",
                          containerd_root()):
            directory.mkdir(parents=True, exist_ok=True)
        (RUN_DIR / "cni" / "10-tfguard.conflist").write_text(json.dumps(_cni_config(), indent=2))
        run_command(["ip", "link", "add", BRIDGE, "type", "bridge"], what=f"creating the bridge {BRIDGE}")
        run_command(["ip", "addr", "add", f"{NODE_IP}/{POD_SUBNET.split('/')[1]}", "dev", BRIDGE],
                    what=f"addressing {BRIDGE}")
        run_command(["ip", "link", "set", BRIDGE, "up"], what=f"bringing {BRIDGE} up")
        if cgroup_v1():
            # The kubelet wants its cgroupRoot in every hierarchy; cpuset needs its cpus/mems set first.
            for hierarchy in sorted(Path("/sys/fs/cgroup").iterdir()):
                if not hierarchy.is_dir() or hierarchy.name == "unified" or not (hierarchy / "cgroup.procs").exists():
                    continue
                target = hierarchy / CGROUP_ROOT
                target.mkdir(exist_ok=True)
                for name in ("cpuset.cpus", "cpuset.mems"):
                    if (hierarchy / name).exists() and not (target / name).read_text().strip():
                        (target / name).write_text((hierarchy / name).read_text())

    def _route_kubernetes_service(self) -> None:
        """What kube-proxy would do for the one Service Pods need: kubernetes.default, 443 -> the API server."""
        rules = (
            f"table ip {NFT_TABLE} {{\n"
            f"  chain prerouting {{\n"
            f"    type nat hook prerouting priority dstnat; policy accept;\n"
            f"    iifname \"{BRIDGE}\" ip daddr {KUBERNETES_SERVICE_IP} tcp dport 443 dnat to {NODE_IP}:{self.cp.port}\n"
            f"  }}\n"
            f"}}\n"
        )
        run_command(["nft", "-f", "-"], input=rules, what="routing the kubernetes Service to the API server (nft)")

    # daemons

    def _spawn(self, name: str, argv: list[str]) -> ChildProcess:
        log = RUN_DIR / f"{name}.log"
        self.logs[name] = log
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join(["/usr/sbin", "/usr/bin", "/sbin", "/bin", env.get("PATH", "")])
        process = ChildProcess(name, argv, log, env)
        self._processes.append(process)
        return process

    def _start_containerd(self) -> None:
        (RUN_DIR / "crictl.yaml").write_text(
            f"runtime-endpoint: unix://{self.containerd_address}\nimage-endpoint: unix://{self.containerd_address}\n"
            "timeout: 30\n"
        )
        config = RUN_DIR / "containerd.toml"
        config.write_text(_containerd_config(_cni_bin_dir()))
        containerd = self._spawn("containerd", ["/usr/bin/containerd", "--config", str(config)])
        self._wait(containerd, lambda: self._crictl("info", what="crictl info", timeout=10, check=False).returncode == 0,
                   "containerd's CRI socket")

    def _image_state(self) -> Path:
        return containerd_root().parent / "imported.json"

    def _crictl(self, *args: str, what: str, timeout: float = 60, check: bool = True):
        return run_command(
            [node_binaries()["crictl"], "--config", str(RUN_DIR / "crictl.yaml"), *args],
            what=what, timeout=timeout, check=check,
        )

    def crictl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """crictl against this node's containerd (e.g. `node.crictl("ps", "-a")`)."""
        return self._crictl(*args, what=f"crictl {' '.join(args[:2])}", check=check)

    def _start_kubelet(self) -> None:
        cp = self.cp
        identity = cp.ca.issue("kubelet-client", f"system:node:{NODE_NAME}", organizations=["system:nodes"],
                               server=False, client=True)
        serving = cp.ca.issue("kubelet-serving", NODE_NAME, hosts=[NODE_IP, NODE_NAME, "127.0.0.1"])
        from harness.controlplane import _kubeconfig, free_port

        kubeconfig = RUN_DIR / "kubelet.kubeconfig"
        kubeconfig.write_text(_kubeconfig(cp.server, cp.ca_pem, f"system:node:{NODE_NAME}", identity))
        self.healthz_port = free_port()
        config = RUN_DIR / "kubelet.json"
        config.write_text(json.dumps(_kubelet_config(cp, serving, self.healthz_port), indent=2))
        kubelet = self._spawn("kubelet", [
            str(node_binaries()["kubelet"]),
            f"--config={config}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={VAR_DIR / 'kubelet'}",
            f"--cert-dir={VAR_DIR / 'kubelet' / 'pki'}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={NODE_IP}",
            "--v=1",
        ])
        self._kubelet = kubelet

    def _wait_ready(self) -> None:
        def ready() -> bool:
            done = self.cp.kubectl("get", "node", NODE_NAME, "-o", "json", check=False)
            if done.returncode != 0:
                return False
            conditions = json.loads(done.stdout).get("status", {}).get("conditions") or []
            return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)

        self._wait(self._kubelet, ready, f"node {NODE_NAME} Ready")

    def _wait(self, process: ChildProcess, condition, what: str) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not process.running():
                raise NodeError(f"{process.name} exited with {process.popen.returncode} before {what}; "
                                f"last lines of {process.log_path}:\n{_tail(process.log_path)}")
            if condition():
                return
            time.sleep(0.2)
        raise NodeError(f"{process.name}: {what} not reached after {self.startup_timeout:.0f}s; "
                        f"last lines of {process.log_path}:\n{_tail(process.log_path)}")

    # helpers for tests and the demo

    def image_id(self, name: str) -> str:
        """The image ID the kubelet reports for `name` in a container status (imageID)."""
        done = self._crictl("inspecti", "-o", "json", name, what=f"crictl inspecti {name}")
        status = json.loads(done.stdout)["status"]
        return (status.get("repoDigests") or [status["id"]])[0]


def import_images(wanted: Optional[Sequence[images_mod.Image]] = None, lock_timeout: float = 1200.0) -> dict[str, str]:
    """Build what is missing and import it into the node's containerd, with no node running: what
    `make images` does, so that no test pays for a first import. {name: manifest digest}"""
    node = Node(images=wanted, lock_timeout=lock_timeout)
    try:
        return node.start(images_only=True).image_digests
    finally:
        node.stop()


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m harness.node")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="a control plane and this machine as its node, in the foreground until Ctrl-C")
    sub.add_parser("check", help="say whether this machine can run a node")
    sub.add_parser("sweep", help="remove what a node left behind (waits for the node lock)")
    sub.add_parser("images", help="build the node's images and import them into its containerd (make images)")
    args = parser.parse_args(argv)
    if args.command == "images":
        why = unsuitable()
        if why:  # the node's tests skip with the same reason
            print(f"node: images not built: {why}", file=sys.stderr)
            return 0
        try:
            for name, digest in import_images().items():
                print(f"{name}: {digest}")
        except (ControlPlaneError, CommandFailed, FileNotFoundError) as error:
            print(f"node: {error}", file=sys.stderr)
            return 1
        return 0
    if args.command == "check":
        why = unavailable()
        print(why or "this machine can run a node")
        return 1 if why else 0
    if args.command == "sweep":
        with NodeLock(60):
            for item in sweep():
                print(f"removed {item}")
        return 0
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        with Node() as node:
            print(f"# node {NODE_NAME} ready, control plane at {node.cp.server}; timings {node.timings}", file=sys.stderr)
            print(f"export KUBECONFIG={node.cp.kubeconfig}")
            print(f"export PATH={node.cp.bin['kubectl'].parent}:{node.cp.bin['helm'].parent}:$PATH", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    except (ControlPlaneError, CommandFailed) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
