"""Container images without a registry: built by buildah from Containerfiles, cached by content,
imported into the node's containerd under the names Pods use.

    for image in images.all_images():
        images.build(image)                       # into the buildah store, unless its key is there
    digests = images.ensure(containerd_address)    # build what is missing, import, {name: digest}

What is built (docs/control-plane.md, "Images"):
- `tfguard/tfguard` and `tfguard/probe` from the project's own Dockerfile, unchanged (`--target`);
- the bases that Dockerfile names, as local stand-ins under the same names: `python:3.11.11-slim-bookworm`
  is Debian bookworm (debootstrap, minbase) with Debian's python3 and python3-venv, and
  `busybox:1.36.1-musl` is Debian's busybox-static (see BASES);
- serving images holding real TensorFlow releases (hack/images/tensorflow): the exact package set of
  the test venv of that release (harness/tfenvs.py), so a Pod runs what the cross-load matrix measured;
  the broken stacks of tfenvs.BROKEN_STACKS as one more layer over the healthy image;
- the gallery's real models as an image (hack/images/models), and the pause image.

Every image has a key: a hash of its recipe, its inputs (the files its Containerfile copies, the
package set) and its bases' keys. The buildah store ($TFGUARD_CACHE/images/buildah) keeps each image
as localhost/tfguard-cache/<slug>:<key>, so a warm ensure() builds nothing. Layers are committed with
`--timestamp 0` and the packages are installed without byte-compiling, so the digest depends on
content. The TF images share the base and, for the broken stacks, the TF layer.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from harness.controlplane import REPO, CommandFailed, cache_dir, run_command, versions
from harness.tfenvs import BROKEN_STACKS, NEW_TF, OLD_TF, tf_python

HACK_IMAGES = REPO / "hack" / "images"
DOCKERFILE = REPO / "Dockerfile"
NAMESPACE = "k8s.io"  # the containerd namespace the CRI plugin uses
BUILDER_REVISION = "1"  # bump to rebuild every image (a change in how images are made)

# The Debian release the bases are made of: the one the Dockerfile's python base is built on.
DEBIAN_SUITE = "bookworm"
PYTHON_BASE_PACKAGES = ("python3", "python3-venv", "python-is-python3", "ca-certificates")


def log(message: str) -> None:
    print(f"images: {message}", file=sys.stderr, flush=True)


def images_dir() -> Path:
    return cache_dir() / "images"


def tfguard_version() -> str:
    """The chart's appVersion: the tag the chart's image values default to."""
    for line in (REPO / "charts" / "tfguard" / "Chart.yaml").read_text().splitlines():
        if line.startswith("appVersion:"):
            return line.split(":", 1)[1].strip().strip('"')
    raise ValueError("charts/tfguard/Chart.yaml has no appVersion")


# --- recipes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Image:
    """One image: `name` is the reference Pods use (normalized by containerd as a registry would)."""

    name: str
    slug: str  # the buildah cache name, localhost/tfguard-cache/<slug>:<key>
    kind: str  # "containerfile" | "base-python" | "base-busybox" | "pause"
    containerfile: Optional[Path] = None
    context: Optional[Path] = None
    target: Optional[str] = None
    build_args: tuple[tuple[str, str], ...] = ()
    bases: tuple["Image", ...] = ()  # images this one is built FROM (by the local names below)
    base_arg: Optional[str] = None  # the ARG that names the base (BASE), set to the base's cache tag
    stage_context: Optional[Callable[[Path], None]] = field(default=None, compare=False, hash=False)
    inputs: tuple[str, ...] = ()  # extra facts the image depends on (hashed into the key)
    mounts: tuple[tuple[str, str], ...] = ()  # build-time mounts: (host path, path in the build)

    @functools.cached_property
    def key(self) -> str:
        recipe = {
            "revision": BUILDER_REVISION,
            "name": self.name,
            "kind": self.kind,
            "target": self.target,
            "build_args": list(self.build_args),
            "bases": [b.key for b in self.bases],
            "inputs": list(self.inputs),
        }
        digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode())
        if self.containerfile is not None:
            digest.update(self.containerfile.read_bytes())
            if self.context is not None:
                for path in copied_files(self.containerfile, self.context):
                    digest.update(str(path.relative_to(self.context)).encode() + b"\0")
                    digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()[:16]

    @property
    def cache_tag(self) -> str:
        return f"localhost/tfguard-cache/{self.slug}:{self.key}"


def copied_files(containerfile: Path, context: Path) -> list[Path]:
    """Every context file a Containerfile's COPY/ADD (not --from) reads, sorted: what its key hashes."""
    found: set[Path] = set()
    for instruction, args in instructions(containerfile.read_text()):
        if instruction not in ("COPY", "ADD"):
            continue
        words = [w for w in args if not w.startswith("--")]
        if any(w.startswith("--from") for w in args) or len(words) < 2:
            continue
        for source in words[:-1]:
            path = context / source
            if path.is_dir():
                found |= {p for p in path.rglob("*") if p.is_file() and not _ignored(p)}
            elif path.exists():
                found.add(path)
    return sorted(found)


def _ignored(path: Path) -> bool:
    return "__pycache__" in path.parts or path.suffix == ".pyc" or any(p.endswith(".egg-info") for p in path.parts)


def instructions(text: str) -> list[tuple[str, list[str]]]:
    """(INSTRUCTION, words) of a Containerfile, continuation lines joined; JSON arrays kept whole."""
    joined: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        joined.append(current + line)
        current = ""
    if current:
        joined.append(current)
    parsed = []
    for line in joined:
        word, _, rest = line.partition(" ")
        parsed.append((word.upper(), rest.split()))
    return parsed


def from_images(containerfile: Path) -> list[str]:
    """The external images a Containerfile's stages start FROM (not earlier stages, not scratch)."""
    stages: set[str] = set()
    external: list[str] = []
    for instruction, args in instructions(containerfile.read_text()):
        if instruction != "FROM":
            continue
        words = [w for w in args if not w.startswith("--")]
        if not words:
            continue
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2])
        if words[0] not in stages and words[0] != "scratch" and not words[0].startswith("$"):
            external.append(words[0])
    return external


# The stand-ins for the Dockerfile's base images, under the names it uses.
PYTHON_BASE = Image(
    "python:3.11.11-slim-bookworm", "python-base", "base-python",
    inputs=(DEBIAN_SUITE, "minbase", *PYTHON_BASE_PACKAGES),
)
BUSYBOX_BASE = Image("busybox:1.36.1-musl", "busybox-base", "base-busybox", inputs=("busybox-static",))
BASES = {image.name: image for image in (PYTHON_BASE, BUSYBOX_BASE)}

PAUSE = Image("tfguard.local/pause:3.10.2", "pause", "pause",
              containerfile=HACK_IMAGES / "pause" / "Containerfile", inputs=("v3.10.2",))


def tfguard_images() -> tuple[Image, Image]:
    """`tfguard/tfguard` and `tfguard/probe` from the Dockerfile, tagged with the chart's appVersion."""
    version = tfguard_version()
    bases = tuple(BASES[name] for name in dict.fromkeys(from_images(DOCKERFILE)))
    common = dict(kind="containerfile", containerfile=DOCKERFILE, context=REPO, bases=bases)
    return (
        Image(f"tfguard/tfguard:{version}", "tfguard", target="tfguard", **common),
        Image(f"tfguard/probe:{version}", "probe", target="probe", **common),
    )


def _uv_mounts() -> tuple[tuple[str, str], ...]:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        raise FileNotFoundError("uv is needed to install TensorFlow into the images (make install)")
    uv_cache = Path(os.environ.get("UV_CACHE_DIR", cache_dir() / "uv"))
    uv_cache.mkdir(parents=True, exist_ok=True)
    return ((uv, "/uv/uv"), (str(uv_cache), "/uv-cache"), (_host_ca_bundle(), "/uv-ca/ca.crt"))


def _host_ca_bundle() -> str:
    """The host's CA bundle, for package downloads during a build: traffic may pass a proxy whose CA
    only the host trusts."""
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
        if candidate and os.path.isfile(candidate):
            return candidate
    raise FileNotFoundError("no CA bundle found on this machine (set SSL_CERT_FILE)")


def frozen_requirements(python: Path) -> list[str]:
    """The exact package set of a venv (`name==version`), without the installer's own packages."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv") or "uv"
    done = run_command([uv, "pip", "freeze", "--python", str(python)], what=f"uv pip freeze of {python}")
    skip = {"pip", "setuptools", "wheel"}
    return sorted(line for line in done.stdout.split() if "==" in line and line.split("==")[0].lower() not in skip)


def tensorflow_image(release: str) -> Image:
    """tensorflow/tensorflow:<release>: the package set of the release's test venv, over the python base."""
    requirements = " ".join(frozen_requirements(tf_python(release)))
    return Image(
        f"tensorflow/tensorflow:{release}", f"tensorflow-{release}", "containerfile",
        containerfile=HACK_IMAGES / "tensorflow" / "Containerfile", context=HACK_IMAGES / "tensorflow",
        build_args=(("REQUIREMENTS", requirements),), bases=(PYTHON_BASE,), base_arg="BASE",
        mounts=_uv_mounts(),
    )


def broken_stack_image(stack: str) -> Image:
    """tfguard.local/stacks/<stack>:1: a broken stack of tfenvs.BROKEN_STACKS, one layer over its release."""
    release, overrides = BROKEN_STACKS[stack]
    return Image(
        f"tfguard.local/stacks/{stack}:1", f"stack-{stack}", "containerfile",
        containerfile=HACK_IMAGES / "tensorflow" / "override.Containerfile", context=HACK_IMAGES / "tensorflow",
        build_args=(("OVERRIDES", " ".join(overrides)),), bases=(tensorflow_image(release),), base_arg="BASE",
        mounts=_uv_mounts(),
    )


# An in-house image tfguard has never seen, with TF OLD_TF inside: the demo's and the node tests'
# story (the operator learns it from the probe). Not examples/unknown-image's acme/model-server:3.2,
# which stays unknown: nothing runs it, so nothing teaches tfguard what it holds.
IN_HOUSE_IMAGE = "acme/tf-serving:5.1"


def in_house_image() -> Image:
    return Image(
        IN_HOUSE_IMAGE, "acme-tf-serving", "containerfile",
        containerfile=HACK_IMAGES / "tensorflow" / "retag.Containerfile", context=HACK_IMAGES / "tensorflow",
        build_args=(("VENDOR", "acme"),), bases=(tensorflow_image(OLD_TF),), base_arg="BASE",
    )


def models_image() -> Image:
    """tfguard.local/gallery-models:<key>: every gallery model at the path its Deployment serves it from."""
    from harness import gallery
    from harness.models import model_path

    placed = {gallery.model_path_in_image(e).lstrip("/"): model_path(*e.model)
              for e in gallery.EXAMPLES_LIST if e.model}
    digest = hashlib.sha256()
    for where, artifact in sorted(placed.items()):
        files = sorted(p for p in artifact.rglob("*") if p.is_file()) if artifact.is_dir() else [artifact]
        for path in files:
            digest.update(f"{where}/{path.relative_to(artifact) if artifact.is_dir() else ''}".encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    content = digest.hexdigest()[:12]

    def stage(context: Path) -> None:
        for where, artifact in placed.items():
            target = context / where  # models/<example>/1
            target.parent.mkdir(parents=True, exist_ok=True)
            if artifact.is_dir():
                shutil.copytree(artifact, target)
            else:
                shutil.copy2(artifact, target)

    return Image(
        f"tfguard.local/gallery-models:{content}", "gallery-models", "containerfile",
        containerfile=HACK_IMAGES / "models" / "Containerfile", bases=(BUSYBOX_BASE,),
        stage_context=stage, inputs=(content,),
    )


def serving_images() -> list[Image]:
    """The TF images the gallery and the e2e tests run, healthy and broken."""
    return [tensorflow_image(OLD_TF), tensorflow_image(NEW_TF), in_house_image(),
            *(broken_stack_image(s) for s in BROKEN_STACKS)]


def all_images() -> list[Image]:
    """Everything a node needs for the demo and tests/e2e, in build order."""
    return [PAUSE, *tfguard_images(), *serving_images(), models_image()]


# --- buildah ------------------------------------------------------------------------------------


def _buildah_argv(*args: str) -> list[str]:
    store = images_dir() / "buildah"
    store.mkdir(parents=True, exist_ok=True)
    return ["buildah", "--root", str(store), "--runroot", "/run/tfguard-buildah", "--storage-driver", "overlay", *args]


def _buildah(*args: str, what: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    return run_command(_buildah_argv(*args), what=what, timeout=timeout)


def have_buildah() -> Optional[str]:
    """None when images can be built here, else why not."""
    if os.geteuid() != 0:
        return "building images needs root (buildah with chroot isolation, overlay mounts)"
    for tool in ("buildah", "debootstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (make node installs the Debian packages)"
    return None


def cached(image: Image) -> bool:
    """Whether the buildah store holds this very build of `image`."""
    found = subprocess.run(_buildah_argv("inspect", "--type", "image", "--format", "{{.FromImageID}}", image.cache_tag),
                           capture_output=True, text=True)
    return found.returncode == 0


@contextlib.contextmanager
def _build_lock():
    path = images_dir() / ".build.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build(image: Image) -> Image:
    """Build `image` (and its bases) into the buildah store unless its key is there already."""
    for base in image.bases:
        build(base)
    if cached(image):
        return image
    with _build_lock():
        if cached(image):
            return image
        started = time.monotonic()
        log(f"building {image.name} ({image.cache_tag})")
        if image.kind == "base-python":
            _build_python_base(image)
        elif image.kind == "base-busybox":
            _build_busybox_base(image)
        elif image.kind == "pause":
            _build_pause(image)
        else:
            _build_containerfile(image)
        log(f"built {image.name} in {time.monotonic() - started:.0f}s")
    return image


def _build_containerfile(image: Image, context: Optional[Path] = None) -> None:
    with tempfile.TemporaryDirectory(prefix="tfguard-image-", dir=images_dir()) as staged:
        if context is None:
            context = image.context
            if image.stage_context is not None:
                context = Path(staged)
                image.stage_context(context)
        for base in image.bases:
            # FROM lines name the upstream images; the stand-ins carry those names in the store.
            if image.base_arg is None:
                _buildah("tag", base.cache_tag, base.name, what=f"buildah tag {base.name}")
        args = ["bud", "--pull=never", "--isolation", "chroot", "--network", "host", "--timestamp", "0",
                "--layers=false", "--quiet", "-f", str(image.containerfile), "-t", image.cache_tag]
        if image.target:
            args += ["--target", image.target]
        if image.base_arg is not None:
            (base,) = image.bases
            args += ["--build-arg", f"{image.base_arg}={base.cache_tag}"]
        for key, value in image.build_args:
            args += ["--build-arg", f"{key}={value}"]
        for host, inside in image.mounts:
            args += ["-v", f"{host}:{inside}:ro" if inside != "/uv-cache" else f"{host}:{inside}"]
        # The host's CA bundle for package downloads in RUN steps (the Dockerfile's pip install).
        args += ["-v", f"{_host_ca_bundle()}:/etc/ssl/certs/ca-certificates.crt:ro"]
        _buildah(*args, str(context), what=f"building {image.name} from {image.containerfile.relative_to(REPO)}")


def _commit_rootfs(image: Image, fill: Callable[[Path], None], config: Sequence[str]) -> None:
    container = _buildah("from", "scratch", what="buildah from scratch").stdout.strip()
    try:
        mount = Path(_buildah("mount", container, what="buildah mount").stdout.strip())
        fill(mount)
        _buildah("umount", container, what="buildah umount")
        _buildah("config", *config, container, what="buildah config")
        _buildah("commit", "--quiet", "--timestamp", "0", container, image.cache_tag, what=f"committing {image.name}")
    finally:
        subprocess.run(_buildah_argv("rm", container), capture_output=True)


def debian_mirror() -> str:
    """The Debian mirror this machine's apt uses (TFGUARD_DEBIAN_MIRROR overrides)."""
    if os.environ.get("TFGUARD_DEBIAN_MIRROR"):
        return os.environ["TFGUARD_DEBIAN_MIRROR"]
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for path in sources:
        try:
            text = path.read_text()
        except OSError:
            continue
        for stanza in re.split(r"\n\s*\n", text):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.M)
            if uris and suites and DEBIAN_SUITE in suites.group(1).split():
                return uris.group(1)
        for line in text.splitlines():
            words = line.split()
            if len(words) >= 3 and words[0] == "deb" and DEBIAN_SUITE in words:
                return next(w for w in words[1:] if "://" in w)
    raise FileNotFoundError(f"no apt source for Debian {DEBIAN_SUITE} on this machine (set TFGUARD_DEBIAN_MIRROR)")


def _build_python_base(image: Image) -> None:
    def fill(root: Path) -> None:
        run_command(
            ["debootstrap", "--variant=minbase", f"--include={','.join(PYTHON_BASE_PACKAGES)}",
             DEBIAN_SUITE, str(root), debian_mirror()],
            what=f"debootstrap {DEBIAN_SUITE} (a few minutes)", timeout=1800,
        )
        # What a slim image leaves out: package caches, logs, device nodes (the runtime makes /dev).
        for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*",
                        "var/log/*", "dev/*", "var/cache/ldconfig/aux-cache"):
            for path in root.glob(pattern):
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink()

    _commit_rootfs(image, fill, [
        "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--env", "LANG=C.UTF-8", "--cmd", "python3",
    ])


def _build_busybox_base(image: Image) -> None:
    busybox = shutil.which("busybox") or "/bin/busybox"

    def fill(root: Path) -> None:
        (root / "bin").mkdir()
        shutil.copy2(busybox, root / "bin" / "busybox")
        applets = run_command([busybox, "--list"], what="busybox --list").stdout.split()
        for applet in applets:
            if applet != "busybox" and not (root / "bin" / applet).exists():
                (root / "bin" / applet).symlink_to("busybox")
        (root / "etc").mkdir()
        (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")
        (root / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
        for directory in ("tmp", "root", "home"):
            (root / directory).mkdir()
        (root / "tmp").chmod(0o1777)

    _commit_rootfs(image, fill, ["--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                 "--cmd", "sh"])


def pause_source() -> Path:
    """Kubernetes' pause.c from the k8s.io/kubernetes module the node's binaries are built from."""
    release = versions()["KUBERNETES_VERSION"]
    source = cache_dir() / "go" / "pkg" / "mod" / f"k8s.io/kubernetes@{release}" / "build" / "pause" / "linux" / "pause.c"
    if not source.exists():
        raise FileNotFoundError(f"{source} is missing: hack/control-plane/build.sh downloads it")
    return source


def _build_pause(image: Image) -> None:
    with tempfile.TemporaryDirectory(prefix="tfguard-pause-", dir=images_dir()) as context:
        binary = Path(context) / "pause"
        run_command(["gcc", "-Os", "-static", "-Wall", "-DVERSION=v3.10.2", "-o", str(binary), str(pause_source())],
                    what="compiling pause.c (gcc -static)")
        run_command(["strip", str(binary)], what="strip pause")
        _build_containerfile(image, context=Path(context))


# --- containerd ---------------------------------------------------------------------------------


def _ctr(address: str, *args: str, what: str, timeout: float = 1800) -> subprocess.CompletedProcess:
    return run_command(["ctr", "--address", address, "--namespace", NAMESPACE, *args], what=what, timeout=timeout)


def containerd_images(address: str) -> dict[str, str]:
    """{image name: manifest digest} of what containerd holds."""
    done = _ctr(address, "images", "list", what="ctr images list")
    found = {}
    for line in done.stdout.splitlines()[1:]:
        words = line.split()
        if len(words) >= 3 and words[2].startswith("sha256:"):
            found[words[0]] = words[2]
    return found


def _remove_cache_names(address: str, held: dict[str, str]) -> None:
    """Only the names Pods use stay in containerd (the content stays as long as one name holds it)."""
    for extra in [n for n in held if n.startswith("localhost/tfguard-cache/")]:
        _ctr(address, "images", "remove", extra, what=f"ctr images remove {extra}")
        del held[extra]


def normalized(name: str, held: Iterable[str]) -> str:
    """The name containerd gave `name` on import: it spells out the default registry (and library/)
    of a reference without one, as the kubelet does when it asks for the image."""
    for candidate in held:
        if candidate == name or candidate.endswith("/" + name) or candidate.endswith("/library/" + name):
            return candidate
    raise KeyError(f"containerd holds no image named {name}")


def import_image(address: str, image: Image, held: dict[str, str], state: dict) -> str:
    """Import `image` into containerd unless it holds this very build; returns the manifest digest."""
    with contextlib.suppress(KeyError):
        name = normalized(image.name, held)
        if state.get(name) == image.key:
            return held[name]
    build(image)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tfguard-import-", dir=images_dir()) as work:
        archive = Path(work) / "image.tar"
        _buildah("push", "--quiet", image.cache_tag, f"docker-archive:{archive}:{image.name}",
                 what=f"exporting {image.name}")
        _ctr(address, "images", "import", "--snapshotter", "overlayfs", str(archive),
             what=f"importing {image.name} into containerd")
    held.clear()
    held.update(containerd_images(address))
    _remove_cache_names(address, held)  # the archive also carries the build's cache name
    name = normalized(image.name, held)
    _discard_layer_blobs(address, [held[name]])
    state[name] = image.key
    log(f"imported {image.name} ({held[name][:19]}) in {time.monotonic() - started:.0f}s")
    return held[name]


def _discard_layer_blobs(address: str, manifest_digests: Iterable[str]) -> None:
    """Drop the layer blobs once containerd has unpacked them (what the CRI's discard_unpacked_layers
    does for pulls): Pods run from the unpacked snapshots, and the blobs would double the disk an
    image costs. The manifest and config stay, so the image and its digest are unchanged."""
    present = set(_ctr(address, "content", "ls", "--quiet", what="ctr content ls").stdout.split())
    layers: set[str] = set()
    for digest in set(manifest_digests) & present:
        manifest = json.loads(_ctr(address, "content", "get", digest, what="ctr content get").stdout)
        layers |= {layer["digest"] for layer in manifest.get("layers") or []}
    if layers & present:
        _ctr(address, "content", "rm", *sorted(layers & present), what="ctr content rm (unpacked layers)")


def ensure(address: str, state_file: Path, wanted: Optional[Iterable[Image]] = None) -> dict[str, str]:
    """Every image of `wanted` (default all_images()) in containerd at `address`; {name: digest}.

    `state_file` (next to containerd's root) remembers which build each name holds."""
    everything = wanted is None
    wanted = list(all_images() if wanted is None else wanted)
    try:
        state = json.loads(state_file.read_text())
    except (OSError, ValueError):
        state = {}
    held = containerd_images(address)
    _remove_cache_names(address, held)
    if everything:  # what an earlier recipe imported and no recipe names any more
        names = {image.name for image in wanted}
        for name in [n for n in state if not any(n == w or n.endswith("/" + w) for w in names)]:
            if name in held:
                _ctr(address, "images", "remove", name, what=f"ctr images remove {name}")
                del held[name]
            del state[name]
    digests = {}
    try:
        for image in wanted:
            digests[image.name] = import_image(address, image, held, state)
    finally:
        state_file.write_text(json.dumps(state, indent=2, sort_keys=True))
    _sync_digest_names(address, held)
    _discard_layer_blobs(address, digests.values())
    if everything:
        _remove_stale_ids(address, held, digests.values())
    return digests


def _remove_stale_ids(address: str, held: dict[str, str], manifests: Iterable[str]) -> None:
    """The CRI names every image it has seen `sha256:<image ID>` too; once a tag points at a newer
    build, that name is all that keeps the old one's snapshots on disk."""
    current = set()
    for digest in set(manifests):
        manifest = json.loads(_ctr(address, "content", "get", digest, what="ctr content get").stdout)
        current.add(manifest["config"]["digest"])
    for name in [n for n in held if n.startswith("sha256:") and n not in current]:
        _ctr(address, "images", "remove", name, what=f"ctr images remove {name}")
        del held[name]


def _repository(name: str) -> str:
    """docker.io/tensorflow/tensorflow:2.15.1 -> docker.io/tensorflow/tensorflow (a registry port stays)."""
    repo, colon, tag = name.rpartition(":")
    return repo if colon and "/" not in tag else name


def _sync_digest_names(address: str, held: dict[str, str]) -> None:
    """Give every image a `repo@sha256:<manifest digest>` name besides its tag, as a pull from a
    registry does: containerd's CRI then reports that digest as the image's repoDigest, so the
    kubelet's imageID (and the ImageStack the operator keys by it) is the manifest digest, as in a
    cluster. Digest names no tag points at any more go, so an old build's content can be collected."""
    wanted = {f"{_repository(n)}@{d}": n for n, d in held.items() if "@" not in n and not n.startswith("sha256:")}
    for name in [n for n in held if "@" in n and n not in wanted]:
        _ctr(address, "images", "remove", name, what=f"ctr images remove {name}")
        del held[name]
    for digest_name, tag_name in wanted.items():
        if digest_name not in held:
            _ctr(address, "images", "tag", tag_name, digest_name, what=f"ctr images tag {digest_name}")
            held[digest_name] = held[tag_name]


# --- command line -------------------------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m harness.images")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build every image into the buildah store (cached by content)")
    sub.add_parser("list", help="the images, their keys and whether they are built")
    args = parser.parse_args(argv)
    from harness import node

    unsuitable = node.unsuitable()
    if unsuitable:  # the node's tests skip with the same reason
        print(f"images: not built: {unsuitable}", file=sys.stderr)
        return 0
    why = have_buildah()
    if why:
        print(f"images: cannot build here: {why}", file=sys.stderr)
        return 1
    try:
        if args.command == "build":
            for image in all_images():
                build(image)
                print(f"{image.name}: {image.cache_tag}")
        else:
            for image in all_images():
                print(f"{image.name:45} {image.key}  {'built' if cached(image) else 'not built'}")
    except (CommandFailed, FileNotFoundError) as error:
        print(f"images: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
