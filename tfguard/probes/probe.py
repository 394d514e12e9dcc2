#!/usr/bin/env python3
"""tfguard probe: can this image import TensorFlow, see its GPUs and load this model?

Runs inside the target image (as an init container, with the image's own python3), so it uses
the standard library only, runs on any CPython >= 3.8 and imports nothing from tfguard.

TensorFlow is imported exactly once, in one child process that also collects the stack facts,
lists the GPUs and loads the model, streaming each result back as a JSON line on a pipe: a crash
(SIGSEGV, SIGILL, ...) or a hang at any step still leaves the results of the steps before it.
While the child imports TensorFlow, this process reads the model's own facts from its files,
checks declared requirements and looks at the GPU driver, so those cost no extra wall time.

Output: the full JSON report on stdout (--json) or a readable one, a compact summary of at most
4096 bytes in the termination log (what `kubectl describe pod` shows), and exit status 1 when a
check fails in enforce mode (0 in warn mode; 2 for usage errors).
"""

import argparse
import base64
import ctypes
import glob
import hashlib
import json
import mmap
import os
import platform
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import traceback
import zipfile
import zlib

REPORT_VERSION = 1
TERMINATION_LOG_LIMIT = 4096
DEFAULT_TERMINATION_LOG = "/dev/termination-log"
DEFAULT_BUDGET_S = 600.0

# Every code this file can emit; tfguard/compat/codes.py documents each (a test keeps them in step).
CODES = (
    "PROBE_IMPORT_OK",
    "PROBE_TF_NOT_INSTALLED",
    "PROBE_IMPORT_SIGILL",
    "PROBE_IMPORT_CRASHED",
    "PROBE_IMPORT_TIMEOUT",
    "PROBE_MISSING_SHARED_LIBRARY",
    "PROBE_UNDEFINED_SYMBOL",
    "PROBE_NUMPY_ABI",
    "PROBE_PROTOBUF_INCOMPATIBLE",
    "PROBE_IMPORT_ERROR",
    "PROBE_REQUIREMENTS_OK",
    "PROBE_REQUIREMENT_VIOLATED",
    "PROBE_TF_KERAS_OK",
    "PROBE_TF_KERAS_BROKEN",
    "PROBE_GPU_OK",
    "PROBE_GPU_NOT_CHECKED",
    "PROBE_GPU_NO_DEVICE",
    "PROBE_GPU_NO_DRIVER_LIBRARY",
    "PROBE_GPU_DRIVER_TOO_OLD",
    "PROBE_GPU_CPU_ONLY_BUILD",
    "PROBE_GPU_NOT_VISIBLE",
    "PROBE_GPU_CHECK_FAILED",
    "PROBE_MODEL_LOADED",
    "PROBE_MODEL_NOT_CHECKED",
    "PROBE_MODEL_NOT_FOUND",
    "PROBE_NOT_A_MODEL",
    "PROBE_MODEL_FACTS_UNREADABLE",
    "PROBE_MISSING_OP",
    "PROBE_KERAS_FORMAT",
    "PROBE_MODEL_LOAD_FAILED",
    "PROBE_MODEL_LOAD_CRASHED",
    "PROBE_MODEL_LOAD_TIMEOUT",
    "PROBE_SIGNATURE_OK",
    "PROBE_SIGNATURE_CALL_FAILED",
    "PROBE_PRODUCER_MATCHES",
    "PROBE_PRODUCER_MISMATCH",
    "PROBE_INTERNAL_ERROR",
)

FIXES = {
    "PROBE_TF_NOT_INSTALLED": "Use an image that has TensorFlow installed for its python3, or point "
    "tfguard at the container that serves the model.",
    "PROBE_IMPORT_SIGILL": "The CPU lacks an instruction set this TensorFlow build was compiled for "
    "(usually AVX/AVX2): schedule on nodes whose CPUs have it, or use a build without it.",
    "PROBE_IMPORT_CRASHED": "A native library of the stack is corrupt or mismatched: rebuild the image "
    "from clean wheels; check the crash frames in the details.",
    "PROBE_IMPORT_TIMEOUT": "Importing TensorFlow did not finish within the time budget: check for a "
    "hung driver or a stalled network filesystem, or raise the budget.",
    "PROBE_MISSING_SHARED_LIBRARY": "Install the library named in the message (or the wheel that "
    "ships it), or fix LD_LIBRARY_PATH.",
    "PROBE_UNDEFINED_SYMBOL": "Two native libraries come from different builds: install matching "
    "versions (TensorFlow and its plugins/add-ons from the same release).",
    "PROBE_NUMPY_ABI": "Install a NumPy within TensorFlow's declared range (TF < 2.18 needs numpy<2).",
    "PROBE_PROTOBUF_INCOMPATIBLE": "Install a protobuf within TensorFlow's declared range, or set "
    "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python as a stopgap.",
    "PROBE_IMPORT_ERROR": "Read the last lines of the error in the details; fix the image's Python stack.",
    "PROBE_REQUIREMENT_VIOLATED": "Install the versions the packages declare (pip check lists the same "
    "conflicts); it imports today but is untested.",
    "PROBE_TF_KERAS_BROKEN": "Install the Keras the TensorFlow release expects (keras 2.x for TF <= 2.15, "
    "keras 3 for TF >= 2.16, or tf-keras with TF_USE_LEGACY_KERAS=1).",
    "PROBE_GPU_NO_DEVICE": "Request GPUs in the container's resources (nvidia.com/gpu) and schedule on "
    "a GPU node with the NVIDIA device plugin.",
    "PROBE_GPU_NO_DRIVER_LIBRARY": "The node's NVIDIA container runtime must mount libcuda.so.1 into the "
    "container: check the runtime class and the device plugin.",
    "PROBE_GPU_DRIVER_TOO_OLD": "Upgrade the node's NVIDIA driver, or use a TensorFlow build for an "
    "older CUDA.",
    "PROBE_GPU_CPU_ONLY_BUILD": "Use a CUDA build of TensorFlow (e.g. tensorflow[and-cuda] or a -gpu "
    "image) instead of tensorflow-cpu.",
    "PROBE_GPU_NOT_VISIBLE": "Device nodes and driver look right but TensorFlow sees no GPU: check the "
    "CUDA/cuDNN libraries in the image and CUDA_VISIBLE_DEVICES.",
    "PROBE_GPU_CHECK_FAILED": "Listing GPUs crashed or hung: the driver stack in the container is broken.",
    "PROBE_MODEL_NOT_CHECKED": "Fix the failure the probe reports before it (usually the import), or "
    "raise the time budget.",
    "PROBE_MODEL_NOT_FOUND": "Mount the model at the path given (tfguard.io/model-path), or fix the path.",
    "PROBE_NOT_A_MODEL": "Point tfguard.io/model-path at a SavedModel directory, a .keras file or an .h5 file.",
    "PROBE_MODEL_FACTS_UNREADABLE": "The model files could not be parsed; re-export the model.",
    "PROBE_MISSING_OP": "Use an image with a TensorFlow release that has the ops named (at least the "
    "release that saved the model), or re-export the model with this release.",
    "PROBE_KERAS_FORMAT": "Load the model with the Keras major version that saved it (Keras 3 .keras "
    "files need Keras 3; Keras 2 SavedModels need tf-keras), or re-export it.",
    "PROBE_MODEL_LOAD_FAILED": "Read the error in the details; re-export the model or change the image.",
    "PROBE_MODEL_LOAD_CRASHED": "The runtime crashed loading the model: a corrupt model file or a "
    "native bug in this release; try another release.",
    "PROBE_MODEL_LOAD_TIMEOUT": "Loading did not finish within the time budget: raise the budget or "
    "check the model's storage.",
    "PROBE_SIGNATURE_CALL_FAILED": "The model loaded but its serving signature failed on zero-filled "
    "inputs; check the error in the details.",
    "PROBE_PRODUCER_MISMATCH": "Fix tfguard.io/model-producer-version, or check that the right model "
    "is mounted.",
    "PROBE_INTERNAL_ERROR": "A bug in the probe: the pod was let through; please report the details.",
}

_CPU_SIMD = ("sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512_vnni", "avx_vnni",
             "avx512_bf16", "amx_tile", "neon", "asimd")
_TF_DISTS = ("tensorflow", "tensorflow-cpu", "tensorflow-gpu", "tensorflow-intel", "intel-tensorflow",
             "tf-nightly", "tf-nightly-cpu", "tensorflow-aarch64", "tensorflow-cpu-aws",
             "tensorflow-rocm", "tensorflow-macos")


# ----------------------------------------------------------------------------------------------
# PEP 440 versions and specifiers (the subset declared requirements use)

_VERSION_RE = re.compile(
    r"^\s*v?(?:(?P<epoch>\d+)!)?(?P<release>\d+(?:\.\d+)*)"
    r"(?:[-_.]?(?P<pre_l>alpha|beta|preview|pre|rc|a|b|c)[-_.]?(?P<pre_n>\d+)?)?"
    r"(?:-(?P<post_n1>\d+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>\d+)?)?"
    r"(?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>\d+)?)?"
    r"(?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?\s*$",
    re.IGNORECASE,
)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


class Version(object):
    """A parsed PEP 440 version, ordered like pip orders them."""

    def __init__(self, text):
        m = _VERSION_RE.match(text or "")
        if not m:
            raise ValueError("not a PEP 440 version: %r" % (text,))
        self.text = text.strip()
        self.epoch = int(m.group("epoch") or 0)
        self.release = tuple(int(p) for p in m.group("release").split("."))
        self.pre = (_PRE_RANK[m.group("pre_l").lower()], int(m.group("pre_n") or 0)) if m.group("pre_l") else None
        post = m.group("post_n1") or m.group("post_n2")
        self.post = int(post or 0) if (m.group("post_n1") or m.group("post_l")) else None
        self.dev = int(m.group("dev_n") or 0) if m.group("dev_l") else None
        self.local = m.group("local")
        release = list(self.release)
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        if self.pre is None and self.post is None and self.dev is not None:
            pre_key = (-1, 0)
        elif self.pre is None:
            pre_key = (3, 0)
        else:
            pre_key = self.pre
        self.key = (self.epoch, tuple(release), pre_key, -1 if self.post is None else self.post,
                    float("inf") if self.dev is None else self.dev)

    @property
    def is_prerelease(self):
        return self.pre is not None or self.dev is not None

    def public_base(self):
        return (self.epoch, self.key[1])

    def __repr__(self):
        return "Version(%r)" % self.text


def _release_prefix_match(candidate, prefix_text):
    prefix = Version(prefix_text)
    want = prefix.release
    have = candidate.release + (0,) * max(0, len(want) - len(candidate.release))
    return candidate.epoch == prefix.epoch and have[: len(want)] == want


def specifier_contains(op, spec, candidate):
    """Whether `candidate` (a Version) satisfies one clause `op spec` (e.g. "<", "2.0")."""
    if op == "===":
        return candidate.text == spec
    if op in ("==", "!="):
        if spec.endswith(".*"):
            result = _release_prefix_match(candidate, spec[:-2])
        else:
            target = Version(spec)
            key = candidate.key if target.local else candidate.key
            result = key == target.key and (target.local is None or target.local == candidate.local)
        return result if op == "==" else not result
    target = Version(spec)
    if op == "~=":
        if len(target.release) < 2:
            raise ValueError("~= needs at least two release components: %r" % spec)
        prefix = ".".join(str(p) for p in target.release[:-1])
        if target.epoch:
            prefix = "%d!%s" % (target.epoch, prefix)
        return candidate.key >= target.key and _release_prefix_match(candidate, prefix)
    if op == ">=":
        return candidate.key >= target.key
    if op == "<=":
        return candidate.key <= target.key
    # "<V" and ">V" leave out V's own family (its pre-, dev- and post-releases), as pip does.
    same_release = candidate.epoch == target.epoch and candidate.key[1] == target.key[1]
    if op == "<":
        if not same_release or target.pre is not None or target.dev is not None:
            return candidate.key < target.key
        if target.post is None:
            return False
        return candidate.key < target.key[:4] + (0,)  # below V.postN.dev0
    if op == ">":
        if not same_release or target.dev is not None or target.post is not None:
            return candidate.key > target.key
        return candidate.key > target.key and candidate.pre != target.pre
    raise ValueError("unknown specifier operator %r" % op)


_CLAUSE_RE = re.compile(r"^\s*(~=|===|==|!=|<=|>=|<|>)\s*([^\s,]+)\s*$")


def specifier_set_contains(specifiers, version_text):
    """Whether a version satisfies a comma-separated specifier set ("" admits everything)."""
    candidate = Version(version_text)
    for clause in specifiers.split(","):
        if not clause.strip():
            continue
        m = _CLAUSE_RE.match(clause)
        if not m:
            raise ValueError("not a version specifier: %r" % clause)
        if not specifier_contains(m.group(1), m.group(2), candidate):
            return False
    return True


# ----------------------------------------------------------------------------------------------
# Requirements (PEP 508 subset) and environment markers

_REQ_RE = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$")
_MARKER_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'[^']*'|\"[^\"]*\")|(?P<op>===|==|!=|<=|>=|~=|<|>|\(|\))"
    r"|(?P<word>not\s+in\b|[A-Za-z_][A-Za-z0-9_.]*))"
)


def canonical_name(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirement(text):
    """(name, specifiers, marker) of a requirement string; None for URL requirements or garbage."""
    body, _, marker = text.partition(";")
    m = _REQ_RE.match(body)
    if not m or "@" in body:
        return None
    spec = m.group(3).strip()
    if spec.startswith("(") and spec.endswith(")"):
        spec = spec[1:-1].strip()
    return m.group(1), spec, marker.strip() or None


def marker_environment():
    impl = sys.implementation
    full = "%d.%d.%d" % sys.version_info[:3]
    return {
        "python_version": "%d.%d" % sys.version_info[:2],
        "python_full_version": full,
        "os_name": os.name,
        "sys_platform": sys.platform,
        "platform_system": platform.system(),
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_python_implementation": platform.python_implementation(),
        "implementation_name": impl.name,
        "implementation_version": "%d.%d.%d" % impl.version[:3],
        "extra": "",
    }


def evaluate_marker(marker, env):
    """Evaluate a PEP 508 marker; raises ValueError when it cannot be understood."""
    tokens, pos = [], 0
    while pos < len(marker):
        if marker[pos:].strip() == "":
            break
        m = _MARKER_TOKEN_RE.match(marker, pos)
        if not m or m.end() == pos:
            raise ValueError("cannot read marker %r" % marker)
        pos = m.end()
        if m.group("str") is not None:
            tokens.append(("str", m.group("str")[1:-1]))
        elif m.group("op") is not None:
            tokens.append(("op", m.group("op")))
        else:
            word = re.sub(r"\s+", " ", m.group("word"))
            tokens.append(("kw", word) if word in ("and", "or", "not", "in", "not in") else ("var", word))
    state = {"i": 0}

    def peek():
        return tokens[state["i"]] if state["i"] < len(tokens) else (None, None)

    def take():
        tok = peek()
        state["i"] += 1
        return tok

    def value():
        kind, text = take()
        if kind == "str":
            return text
        if kind == "var":
            if text not in env:
                raise ValueError("unknown marker variable %r" % text)
            return env[text]
        raise ValueError("expected a value in marker %r" % marker)

    def comparison():
        if peek() == ("op", "("):
            take()
            result = disjunction()
            if take() != ("op", ")"):
                raise ValueError("unbalanced parentheses in marker %r" % marker)
            return result
        left = value()
        kind, op = take()
        if kind not in ("op", "kw") or op in ("(", ")", "and", "or", "not"):
            raise ValueError("expected a comparison in marker %r" % marker)
        right = value()
        if op == "in":
            return left in right
        if op == "not in":
            return left not in right
        try:
            return specifier_contains(op, right, Version(left))
        except ValueError:
            if op == "==":
                return left == right
            if op == "!=":
                return left != right
            raise

    def conjunction():
        result = comparison()
        while peek() == ("kw", "and"):
            take()
            result = comparison() and result
        return result

    def disjunction():
        result = conjunction()
        while peek() == ("kw", "or"):
            take()
            result = conjunction() or result
        return result

    result = disjunction()
    if state["i"] != len(tokens):
        raise ValueError("trailing tokens in marker %r" % marker)
    return bool(result)


def installed_distributions():
    """{canonical name: (display name, version, [requirement strings])}, first on sys.path wins."""
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8: no requirement check
        return None
    found = {}
    for dist in metadata.distributions():
        try:
            name = dist.metadata["Name"]
            if not name:
                continue
            key = canonical_name(name)
            if key not in found:
                found[key] = (name, dist.version, list(dist.requires or []))
        except Exception:  # a broken dist-info must not break the probe
            continue
    return found


def requirement_violations(dists, env=None):
    """Declared requirements the installed versions violate, like `pip check`."""
    env = env or marker_environment()
    violations = []
    for key in sorted(dists):
        name, version, requires = dists[key]
        for text in requires:
            parsed = parse_requirement(text)
            if parsed is None:
                continue
            req_name, spec, marker = parsed
            try:
                if marker and not evaluate_marker(marker, env):
                    continue
            except ValueError:
                continue
            have = dists.get(canonical_name(req_name))
            if have is None:
                violations.append({"package": name, "version": version, "requires": text.split(";")[0].strip(),
                                   "installed": None})
                continue
            try:
                ok = specifier_set_contains(spec, have[1])
            except ValueError:
                continue
            if not ok:
                violations.append({"package": name, "version": version, "requires": text.split(";")[0].strip(),
                                   "installed": have[1]})
    return violations


# ----------------------------------------------------------------------------------------------
# Protobuf wire format: just enough of saved_model.pb to read its versions and op set

class WireError(ValueError):
    pass


def _varint(buf, pos, end):
    result = shift = 0
    while True:
        if pos >= end:
            raise WireError("truncated varint at byte %d" % pos)
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint longer than 10 bytes at byte %d" % pos)


class _Budget(object):
    def __init__(self, fields):
        self.left = fields

    def spend(self, count=1):
        self.left -= count
        if self.left < 0:
            raise WireError("too many fields: not a model this probe can read")


def iter_fields(buf, start, end, budget):
    """[(field number, wire type, value)] of one message; value is an int or a (start, end) span.

    The hot loop of the reader: one-byte varints (nearly all tags and lengths) take a fast path.
    """
    out = []
    append = out.append
    pos = start
    limit = budget.left
    while pos < end:
        if len(out) >= limit:
            raise WireError("too many fields: not a model this probe can read")
        key = buf[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(buf, pos, end)
        number, wire_type = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0 at byte %d" % pos)
        if wire_type == 2:
            if pos >= end:
                raise WireError("truncated varint at byte %d" % pos)
            size = buf[pos]
            if size < 0x80:
                pos += 1
            else:
                size, pos = _varint(buf, pos, end)
            value = (pos, pos + size)
            pos += size
        elif wire_type == 0:
            value, pos = _varint(buf, pos, end)
        elif wire_type == 1:
            value, pos = None, pos + 8
        elif wire_type == 5:
            value, pos = None, pos + 4
        else:
            raise WireError("unsupported wire type %d at byte %d" % (wire_type, pos))
        if pos > end:
            raise WireError("field %d runs past the end of its message" % number)
        append((number, wire_type, value))
    budget.spend(len(out))
    return out


def _text(buf, span, limit=512):
    start, end = span
    return bytes(buf[start:min(end, start + limit)]).decode("utf-8", "replace")


def _node_def(buf, span, budget, ops, op_attrs):
    op, attrs = None, []
    for number, wire_type, value in iter_fields(buf, span[0], span[1], budget):
        if number == 2 and wire_type == 2:
            op = _text(buf, value, 256)
        elif number == 5 and wire_type == 2:
            start, end = value
            # Fast path: a map entry starts with its key (field 1, length-delimited, short).
            if end - start > 2 and buf[start] == 0x0A and buf[start + 1] < 0x80 and start + 2 + buf[start + 1] <= end:
                attrs.append(_text(buf, (start + 2, start + 2 + buf[start + 1]), 256))
                budget.spend()
                continue
            for n, w, v in iter_fields(buf, start, end, budget):
                if n == 1 and w == 2:
                    attrs.append(_text(buf, v, 256))
    if op:
        ops.add(op)
        op_attrs.setdefault(op, set()).update(attrs)


def _versions(buf, span, budget, facts):
    bad = []
    for number, wire_type, value in iter_fields(buf, span[0], span[1], budget):
        if number == 1 and wire_type == 0:
            facts["graph_producer"] = value
        elif number == 2 and wire_type == 0:
            facts["graph_min_consumer"] = value
        elif number == 3 and wire_type == 0:
            bad.append(value)
        elif number == 3 and wire_type == 2:  # packed
            pos, end = value
            while pos < end:
                item, pos = _varint(buf, pos, end)
                bad.append(item)
    facts["graph_bad_consumers"] = bad[:64]


def read_saved_model_pb(buf, max_fields=20000000):
    """Model facts from the bytes of a saved_model.pb, without the protobuf package.

    Bounded: every length is checked against its enclosing message and the total number of fields
    read is capped, so hostile bytes raise WireError instead of hanging or reading out of bounds.
    """
    budget = _Budget(max_fields)
    facts = {"meta_graphs": 0, "signatures": []}
    ops, op_attrs, functions = set(), {}, set()
    for number, wire_type, value in iter_fields(buf, 0, len(buf), budget):
        if number == 1 and wire_type == 0:
            facts["saved_model_schema_version"] = value
        if number != 2 or wire_type != 2:
            continue
        facts["meta_graphs"] += 1
        first = facts["meta_graphs"] == 1
        for n, w, v in iter_fields(buf, value[0], value[1], budget):
            if w != 2:
                continue
            if n == 1 and first:  # MetaInfoDef
                for n2, w2, v2 in iter_fields(buf, v[0], v[1], budget):
                    if n2 == 5 and w2 == 2:
                        facts["tensorflow_version"] = _text(buf, v2, 128)
                    elif n2 == 6 and w2 == 2:
                        facts["tensorflow_git_version"] = _text(buf, v2, 128)
            elif n == 2:  # GraphDef
                for n2, w2, v2 in iter_fields(buf, v[0], v[1], budget):
                    if w2 != 2:
                        continue
                    if n2 == 1:
                        _node_def(buf, v2, budget, ops, op_attrs)
                    elif n2 == 2:  # FunctionDefLibrary
                        for n3, w3, v3 in iter_fields(buf, v2[0], v2[1], budget):
                            if n3 != 1 or w3 != 2:
                                continue
                            for n4, w4, v4 in iter_fields(buf, v3[0], v3[1], budget):
                                if n4 == 1 and w4 == 2:  # OpDef signature: its name
                                    for n5, w5, v5 in iter_fields(buf, v4[0], v4[1], budget):
                                        if n5 == 1 and w5 == 2:
                                            functions.add(_text(buf, v5, 256))
                                elif n4 == 3 and w4 == 2:
                                    _node_def(buf, v4, budget, ops, op_attrs)
                    elif n2 == 4 and first:
                        _versions(buf, v2, budget, facts)
            elif n == 5 and first:  # signature_def map entry
                for n2, w2, v2 in iter_fields(buf, v[0], v[1], budget):
                    if n2 == 1 and w2 == 2 and len(facts["signatures"]) < 256:
                        facts["signatures"].append(_text(buf, v2, 256))
    # A node whose "op" names a library function calls that function: it is not a registered op.
    real_ops = ops - functions
    facts["ops"] = sorted(real_ops)
    facts["op_attrs"] = {op: sorted(op_attrs[op]) for op in sorted(real_ops)}
    facts["signatures"] = sorted(set(n for n in facts["signatures"] if not n.startswith("__")))
    return facts


def read_keras_metadata_pb(buf, max_fields=2000000):
    """keras_version and backend from keras_metadata.pb: the root object's JSON metadata.

    KerasSavedMetadata.nodes=1; SavedObject node_id=2, node_path=3, metadata=5.
    """
    budget = _Budget(max_fields)
    root = first = None
    for number, wire_type, value in iter_fields(buf, 0, len(buf), budget):
        if number != 1 or wire_type != 2:
            continue
        node_id, node_path, metadata = None, None, None
        for n, w, v in iter_fields(buf, value[0], value[1], budget):
            if n == 2 and w == 0:
                node_id = v
            elif n == 3 and w == 2:
                node_path = _text(buf, v, 256)
            elif n == 5 and w == 2:
                metadata = v
        if node_path == "root":
            root = metadata
            break
        if node_id == 0 and first is None:
            first = metadata
    span = root or first
    if span is None or span[1] - span[0] > (16 << 20):
        return {}
    try:
        values = json.loads(bytes(buf[span[0]:span[1]]).decode("utf-8", "replace"))
    except ValueError:
        return {}
    if not isinstance(values, dict):
        return {}
    names = {"keras_version": "keras_version", "backend": "keras_backend"}
    return {names[k]: values[k][:64] for k in names if isinstance(values.get(k), str)}


# ----------------------------------------------------------------------------------------------
# Model facts, read from the files without TensorFlow

def model_format(path):
    """("saved_model"|"keras_v3"|"h5", load path) or (None, reason)."""
    if not os.path.exists(path):
        return None, "not_found"
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "saved_model.pb")) or os.path.isfile(
                os.path.join(path, "saved_model.pbtxt")):
            return "saved_model", path
        return None, "no saved_model.pb in the directory"
    base = os.path.basename(path)
    if base in ("saved_model.pb", "saved_model.pbtxt"):
        return "saved_model", os.path.dirname(path) or "."
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as exc:
        return None, "cannot read: %s" % exc
    if head.startswith(b"\x89HDF\r\n\x1a\n"):
        return "h5", path
    if head.startswith(b"PK\x03\x04") and zipfile.is_zipfile(path):
        return "keras_v3", path
    return None, "neither a SavedModel directory, a .keras zip nor an HDF5 file"


def model_digest(path, max_files=100000, max_depth=64):
    """The model digest, defined as tfguard inspect defines it (tfguard/compat/inspect/files.py).

    A file: "sha256:" + sha256 of its bytes. A directory: sha256 over its regular files sorted by
    relative POSIX path, each contributing the path (UTF-8), a NUL byte, its size as 8 big-endian
    bytes, then its bytes. Symlinks are followed.
    """
    h = hashlib.sha256()
    if os.path.isfile(path):
        _hash_into(h, path)
        return "sha256:" + h.hexdigest()
    files = []
    stack = [(path, "", frozenset(), 0)]
    while stack:
        directory, prefix, ancestors, depth = stack.pop()
        real = os.path.realpath(directory)
        if real in ancestors or depth > max_depth:
            raise OSError("symlink loop or nesting too deep at %s" % directory)
        for name in sorted(os.listdir(directory)):
            full = os.path.join(directory, name)
            if os.path.isdir(full):
                stack.append((full, prefix + name + "/", ancestors | {real}, depth + 1))
            elif os.path.isfile(full):
                files.append((prefix + name, full))
                if len(files) > max_files:
                    raise OSError("more than %d files in %s" % (max_files, path))
    files.sort(key=lambda item: item[0])
    for relative, full in files:
        size = os.path.getsize(full)
        h.update(relative.encode("utf-8", "surrogateescape") + b"\0" + struct.pack(">Q", size))
        _hash_into(h, full)
    return "sha256:" + h.hexdigest()


def _hash_into(h, path):
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)


def _read_pb(path):
    size = os.path.getsize(path)
    if size < (256 << 20):  # bytes index faster than an mmap
        with open(path, "rb") as f:
            return read_saved_model_pb(f.read(size + 1))
    with open(path, "rb") as f:
        mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            return read_saved_model_pb(mapped)
        finally:
            mapped.close()


def _keras_zip_facts(path):
    facts = {}
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        if "metadata.json" in names and archive.getinfo("metadata.json").file_size < (1 << 20):
            meta = json.loads(archive.read("metadata.json").decode("utf-8", "replace"))
            if isinstance(meta, dict) and isinstance(meta.get("keras_version"), str):
                facts["keras_version"] = meta["keras_version"][:64]
        if "config.json" not in names:
            raise ValueError("a zip without config.json is not a .keras model")
        if archive.getinfo("config.json").file_size < (64 << 20):
            config = json.loads(archive.read("config.json").decode("utf-8", "replace"))
            facts["keras_modules"] = _keras_modules(config)
    return facts


def _keras_modules(config):
    """The modules a Keras config deserializes from; the same list `tfguard inspect` reports."""
    modules, stack = set(), [config]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if isinstance(value.get("module"), str) and "class_name" in value:
                modules.add(value["module"])
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return sorted(modules)


# libhdf5 segfaults on some corrupt files: read the attributes in a child, never in the probe.
_H5_ATTRS_SCRIPT = """
import json, sys
import h5py
out = {}
with h5py.File(sys.argv[1], "r") as f:
    for attr, key in (("keras_version", "keras_version"), ("backend", "keras_backend")):
        value = f.attrs.get(attr)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if isinstance(value, str):
            out[key] = value[:64]
print(json.dumps(out))
"""


def _h5_facts(path, timeout=30):
    try:
        done = subprocess.run([sys.executable, "-c", _H5_ATTRS_SCRIPT, path], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    if done.returncode != 0:
        if b"No module named" in done.stderr and b"h5py" in done.stderr:
            return {}  # no h5py in the image: the Keras version is left unknown
        raise ValueError("the .h5 file could not be read (%s)" % (
            "killed by signal %d" % -done.returncode if done.returncode < 0
            else done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]))
    facts = json.loads(done.stdout.decode("utf-8", "replace") or "{}")
    return facts if isinstance(facts, dict) else {}


def model_facts(path, digest=True):
    """(ModelFacts-shaped dict or None, problem dict or None)."""
    fmt, where = model_format(path)
    if fmt is None:
        code = "PROBE_MODEL_NOT_FOUND" if where == "not_found" else "PROBE_NOT_A_MODEL"
        message = ("model path %s does not exist" % path if where == "not_found"
                   else "%s is not a model: %s" % (path, where))
        return None, {"code": code, "message": message}
    facts = {"path": path, "format": fmt, "source": "probe", "ops": [], "op_attrs": {},
             "graph_bad_consumers": [], "signatures": []}
    problem = None
    try:
        if fmt == "saved_model":
            pb = os.path.join(where, "saved_model.pb")
            if os.path.isfile(pb):
                parsed = _read_pb(pb)
                parsed.pop("meta_graphs", None)
                facts.update(parsed)
            keras_pb = os.path.join(where, "keras_metadata.pb")
            if os.path.isfile(keras_pb):
                facts["keras_format"] = "saved_model_keras"
                with open(keras_pb, "rb") as f:
                    facts.update(read_keras_metadata_pb(f.read(64 << 20)))
        elif fmt == "keras_v3":
            facts["keras_format"] = "keras_v3"
            facts.update(_keras_zip_facts(where))
        elif fmt == "h5":
            facts["keras_format"] = "h5"
            facts.update(_h5_facts(where))
    except Exception as exc:
        if fmt == "keras_v3" and isinstance(exc, ValueError) and "config.json" in str(exc):
            return None, {"code": "PROBE_NOT_A_MODEL", "message": "%s is not a model: %s" % (path, exc)}
        problem = {"code": "PROBE_MODEL_FACTS_UNREADABLE",
                   "message": "could not read the model's facts from %s: %s" % (path, exc)}
    if digest:
        try:
            facts["digest"] = model_digest(where)
        except OSError as exc:
            problem = problem or {"code": "PROBE_MODEL_FACTS_UNREADABLE",
                                  "message": "could not read %s: %s" % (path, exc)}
    return facts, problem


# ----------------------------------------------------------------------------------------------
# GPU: what the container was given, and why TensorFlow does not see a GPU

# Minimum Linux driver for each CUDA toolkit (NVIDIA's CUDA release notes), for when libcuda
# cannot be asked directly.
_CUDA_MIN_DRIVER = (
    ("12.9", "575.51.03"), ("12.8", "570.26"), ("12.6", "560.28.03"), ("12.5", "555.42.02"),
    ("12.4", "550.54.14"), ("12.3", "545.23.06"), ("12.2", "535.54.03"), ("12.1", "530.30.02"),
    ("12.0", "525.60.13"), ("11.8", "520.61.05"), ("11.7", "515.43.04"), ("11.6", "510.39.01"),
    ("11.5", "495.29.05"), ("11.4", "470.42.01"), ("11.3", "465.19.01"), ("11.2", "460.27.03"),
    ("11.1", "455.23"), ("11.0", "450.36.06"), ("10.2", "440.33"), ("10.1", "418.39"), ("10.0", "410.48"),
)


def _vtuple(text):
    return tuple(int(p) for p in re.findall(r"\d+", text or "")[:3])


def cuda_supported_by_driver(driver_version):
    have = _vtuple(driver_version)
    for cuda, minimum in _CUDA_MIN_DRIVER:
        if have >= _vtuple(minimum):
            return cuda
    return None


def gpu_environment(dev_dir="/dev", proc_version="/proc/driver/nvidia/version",
                    libcuda_names=("libcuda.so.1", "libcuda.so"), nvidia_smi="nvidia-smi"):
    """What the container offers a GPU program, without TensorFlow. Every path is injectable."""
    env = {"device_nodes": sorted(os.path.basename(p) for p in glob.glob(os.path.join(dev_dir, "nvidia*")))}
    try:
        with open(proc_version) as f:
            text = f.read(4096)
        env["proc_version"] = text.strip().splitlines()[0][:200] if text.strip() else ""
        m = re.search(r"Kernel Module.*?\s(\d+\.\d+(?:\.\d+)?)\s", text)
        if m:
            env["driver_version"] = m.group(1)
    except OSError:
        pass
    errors = []
    for name in libcuda_names or ():
        try:
            lib = ctypes.CDLL(name)
        except OSError as exc:
            errors.append(str(exc)[:200])
            continue
        env["libcuda"] = name
        version = ctypes.c_int(0)
        try:
            if lib.cuDriverGetVersion(ctypes.byref(version)) == 0 and version.value:
                env["driver_cuda_version"] = "%d.%d" % (version.value // 1000, (version.value % 1000) // 10)
        except Exception as exc:  # a stub libcuda without the symbol
            errors.append(str(exc)[:200])
        break
    if "libcuda" not in env and errors:
        env["libcuda_error"] = errors[0]
    smi = shutil.which(nvidia_smi) if nvidia_smi else None
    if smi:
        try:
            out = subprocess.run([smi, "--query-gpu=driver_version,name", "--format=csv,noheader"],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=15)
            lines = [l.strip() for l in out.stdout.decode("utf-8", "replace").splitlines() if l.strip()]
            if out.returncode == 0 and lines:
                env["nvidia_smi_gpus"] = [l.split(",", 1)[-1].strip() for l in lines][:16]
                env.setdefault("driver_version", lines[0].split(",")[0].strip())
            else:
                env["nvidia_smi_error"] = " ".join(lines)[-300:]
        except (OSError, subprocess.TimeoutExpired) as exc:
            env["nvidia_smi_error"] = str(exc)[:300]
    if "driver_cuda_version" not in env and env.get("driver_version"):
        cuda = cuda_supported_by_driver(env["driver_version"])
        if cuda:
            env["driver_cuda_version_estimated"] = cuda
    return env


def gpu_check(mode, env, build=None, tf_gpus=None, error=None):
    """The GPU check: pure reasoning over what gpu_environment and TensorFlow reported."""
    build = build or {}
    details = {"mode": mode, "environment": env, "build": build, "tf_gpus": tf_gpus}
    if mode == "none":
        return _check("gpu", "skip", "PROBE_GPU_NOT_CHECKED", "GPU check not requested (--gpu none)",
                      details=details)
    if error:
        return _check("gpu", "fail" if mode == "required" else "warn", "PROBE_GPU_CHECK_FAILED",
                      "listing GPUs failed: %s" % error, details=details)
    if tf_gpus:
        return _check("gpu", "pass", "PROBE_GPU_OK", "TensorFlow sees %d GPU(s)" % tf_gpus, details=details)
    reasons = []
    nodes = env.get("device_nodes") or []
    if not [n for n in nodes if re.match(r"nvidia\d+$", n)]:
        reasons.append(("PROBE_GPU_NO_DEVICE", "no /dev/nvidia<N> device node: the container was given no GPU"
                        + (" (found only %s)" % ", ".join(nodes) if nodes else "")))
    if build.get("is_cuda_build") is False:
        reasons.append(("PROBE_GPU_CPU_ONLY_BUILD", "this TensorFlow is a CPU-only build "
                        "(tf.sysconfig.get_build_info(): is_cuda_build=False)"))
    if not env.get("libcuda"):
        reasons.append(("PROBE_GPU_NO_DRIVER_LIBRARY", "the NVIDIA driver library libcuda.so.1 cannot be loaded"
                        + (": %s" % env["libcuda_error"] if env.get("libcuda_error") else "")))
    need = build.get("cuda_version")
    have = env.get("driver_cuda_version") or env.get("driver_cuda_version_estimated")
    if need and have and _vtuple(have)[:2] < _vtuple(need)[:2]:
        reasons.append(("PROBE_GPU_DRIVER_TOO_OLD", "the driver%s supports CUDA up to %s but this TensorFlow "
                        "was built for CUDA %s" % (" " + env["driver_version"] if env.get("driver_version") else "",
                                                   have, need)))
    if not reasons:
        reasons.append(("PROBE_GPU_NOT_VISIBLE", "device nodes and the driver are present but TensorFlow "
                        "lists no GPU (see the TensorFlow log in the details)"))
    details["reasons"] = [{"code": c, "message": m} for c, m in reasons]
    code, _ = reasons[0]
    message = "TensorFlow sees no GPU: " + "; ".join(m for _, m in reasons)
    if mode == "required":
        status = "fail"
    elif code == "PROBE_GPU_NO_DEVICE":
        status = "skip"  # optional and none given: TensorFlow runs on the CPU, as asked
    else:
        status = "warn"
    return _check("gpu", status, code, message, details=details)


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    try:
        with open(cpuinfo) as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return sorted(set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return []


# ----------------------------------------------------------------------------------------------
# The child: imports TensorFlow once, then facts, GPUs, model load; one JSON line per step

def _child_main(config):
    out = os.fdopen(config["fd"], "w")

    def send(event, **data):
        data["event"] = event
        out.write(json.dumps(data, default=str) + "\n")
        out.flush()

    started = time.monotonic()
    try:
        import tensorflow as tf
    except BaseException as exc:
        send("import", ok=False, seconds=time.monotonic() - started, exc_type=type(exc).__name__,
             missing_module=getattr(exc, "name", None) if isinstance(exc, ImportError) else None,
             error=_exception_text(exc))
        return 1
    send("import", ok=True, seconds=time.monotonic() - started)

    stack_started = time.monotonic()
    stack = {"tensorflow_version": getattr(tf, "__version__", None),
             "tensorflow_git_version": getattr(getattr(tf, "version", None), "GIT_VERSION", None)}
    for module, key in (("numpy", "numpy_version"), ("google.protobuf", "protobuf_version")):
        mod = sys.modules.get(module)
        if mod is not None and getattr(mod, "__version__", None):
            stack[key] = mod.__version__
    try:
        stack["build_info"] = {k: str(v) for k, v in dict(tf.sysconfig.get_build_info()).items()}
    except Exception as exc:
        stack["build_info_error"] = _exception_text(exc, 300)
    try:
        keras = tf.keras
        name = getattr(keras, "__name__", None) or ""
        stack["tf_keras_module"] = name
        package = name.split(".")[0]
        stack["tf_keras_package"] = package
        version = None
        try:
            from importlib import metadata
            version = metadata.version("tf-keras" if package == "tf_keras" else package)
        except Exception:
            version = getattr(sys.modules.get(package), "__version__", None)
        stack["tf_keras_version"] = version
    except BaseException as exc:
        stack["tf_keras_error"] = _exception_text(exc, 1500)
    send("stack", stack=stack, seconds=time.monotonic() - stack_started)

    if config.get("gpu") != "none":
        send("phase", phase="gpu")
        t = time.monotonic()
        try:
            gpus = tf.config.list_physical_devices("GPU")
            send("gpu", ok=True, count=len(gpus), devices=[d.name for d in gpus][:16], seconds=time.monotonic() - t)
        except Exception as exc:
            send("gpu", ok=False, error=_exception_text(exc, 1500), seconds=time.monotonic() - t)

    if config.get("model_path"):
        send("phase", phase="load")
        _child_load(tf, config, send)
    send("done")
    out.close()
    # Skip TensorFlow's slow interpreter teardown: everything has been reported.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _exception_text(exc, limit=6000):
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return text[-limit:]


def _child_load(tf, config, send):
    path, loader = config["model_path"], config["loader"]
    t = time.monotonic()
    try:
        if loader == "keras":
            model = tf.keras.models.load_model(path, compile=False)
            send("load", ok=True, loader=loader, seconds=time.monotonic() - t,
                 model_type=type(model).__name__)
            return
        loaded = tf.saved_model.load(path)
    except BaseException as exc:
        send("load", ok=False, loader=loader, seconds=time.monotonic() - t, exc_type=type(exc).__name__,
             error=_exception_text(exc))
        return
    signatures = sorted(getattr(loaded, "signatures", {}) or {})
    send("load", ok=True, loader=loader, seconds=time.monotonic() - t, signatures=signatures)
    if not signatures:
        return
    name = "serving_default" if "serving_default" in signatures else signatures[0]
    send("phase", phase="call")
    t = time.monotonic()
    try:
        function = loaded.signatures[name]
        specs = function.structured_input_signature[1]
        inputs = {}
        for key, spec in specs.items():
            shape = [1 if d is None else d for d in spec.shape.as_list()] if spec.shape.rank is not None else [1]
            inputs[key] = tf.zeros(shape, dtype=spec.dtype)
        outputs = function(**inputs)
        send("call", ok=True, signature=name, seconds=time.monotonic() - t,
             outputs=sorted(outputs)[:32] if isinstance(outputs, dict) else None)
    except BaseException as exc:
        send("call", ok=False, signature=name, seconds=time.monotonic() - t, error=_exception_text(exc))


# ----------------------------------------------------------------------------------------------
# Classifying what went wrong

_NUMPY_PATTERNS = ("compiled using NumPy 1.x", "numpy.core.multiarray failed to import",
                   "numpy.core.umath failed to import", "numpy.core._multiarray_umath failed to import",
                   "_ARRAY_API not found", "numpy.dtype size changed", "module compiled against API version",
                   "module compiled against ABI version")
_PROTOBUF_PATTERNS = ("Descriptors cannot be created directly", "cannot import name 'builder' from "
                      "'google.protobuf.internal'", "incompatible Protobuf Gencode/Runtime",
                      "google.protobuf.runtime_version")


def tail_lines(text, lines=16, limit=2500):
    # importlib's own frames say nothing about what broke
    kept = [l for l in (text or "").splitlines() if l.strip() and "<frozen importlib._bootstrap" not in l][-lines:]
    return "\n".join(kept)[-limit:]


def _line_with(text, patterns):
    for line in (text or "").splitlines():
        if any(p in line for p in patterns):
            return line.strip()
    return _last_line(text)


def _last_line(text):
    lines = [l.strip() for l in (text or "").splitlines() if l.strip()]
    return lines[-1] if lines else ""


def numpy_violation(violations):
    for v in violations or ():
        if canonical_name(v["package"]) in _TF_DISTS and re.match(r"numpy\b", v["requires"], re.I):
            return v
    return None


def classify_import_failure(exc_type=None, missing_module=None, error="", stderr="", signum=None,
                            exit_status=None, violations=()):
    """(code, message) for a failed `import tensorflow`."""
    text = (error or "") + "\n" + (stderr or "")
    numpy_bad = numpy_violation(violations)
    numpy_note = (" (installed numpy %s; %s %s requires %s)" % (numpy_bad["installed"], numpy_bad["package"],
                  numpy_bad["version"], numpy_bad["requires"]) if numpy_bad else "")
    if signum is not None:
        name = _signal_name(signum)
        if any(p in text for p in _NUMPY_PATTERNS) or numpy_bad:
            return "PROBE_NUMPY_ABI", "importing TensorFlow died of %s: NumPy ABI mismatch%s" % (name, numpy_note)
        if signum == getattr(signal, "SIGILL", 4):
            return "PROBE_IMPORT_SIGILL", ("importing TensorFlow died of SIGILL: the CPU lacks an instruction "
                                           "this build uses")
        return "PROBE_IMPORT_CRASHED", "importing TensorFlow died of %s" % name
    if exit_status is not None and exc_type is None:
        return "PROBE_IMPORT_CRASHED", "importing TensorFlow ended the process with exit status %s" % exit_status
    if exc_type == "ModuleNotFoundError" and (missing_module or "").split(".")[0] == "tensorflow" \
            and missing_module in ("tensorflow", None):
        return "PROBE_TF_NOT_INSTALLED", "TensorFlow is not installed for %s" % sys.executable
    m = re.search(r"([\w.+-]+\.so[\w.]*): cannot open shared object file", text)
    if m:
        return "PROBE_MISSING_SHARED_LIBRARY", "shared library %s is missing: %s" % (m.group(1), _last_line(error))
    m = re.search(r"undefined symbol: (\S+)", text)
    if m:
        return "PROBE_UNDEFINED_SYMBOL", "undefined symbol %s: %s" % (m.group(1), _last_line(error))
    if any(p in text for p in _NUMPY_PATTERNS):
        return "PROBE_NUMPY_ABI", "NumPy ABI mismatch: %s%s" % (_line_with(text, _NUMPY_PATTERNS), numpy_note)
    if any(p in text for p in _PROTOBUF_PATTERNS):
        return "PROBE_PROTOBUF_INCOMPATIBLE", "protobuf is incompatible: %s" % _line_with(text, _PROTOBUF_PATTERNS)
    if exc_type == "ModuleNotFoundError" and missing_module:
        return "PROBE_IMPORT_ERROR", "importing TensorFlow failed: module %s is missing" % missing_module
    return "PROBE_IMPORT_ERROR", "importing TensorFlow failed: %s" % (_last_line(error) or exc_type)


_KERAS_FORMAT_PATTERNS = ("File format not supported", "Keras 3 only supports", "keras_version",
                          "Unknown layer", "Could not locate class", "Unrecognized keyword arguments",
                          "not a zip file", "is not a valid", "Unable to synchronously open",
                          "legacy SavedModel format", "TFSMLayer", "Could not deserialize")


def classify_load_failure(exc_type, error, loader, model=None):
    """(code, message, missing ops) for a failed model load."""
    missing = sorted(set(re.findall(r"Op type not registered '([^']+)'", error or "")) |
                     set(re.findall(r"No OpKernel was registered to support Op '([^']+)'", error or "")))
    if missing:
        return ("PROBE_MISSING_OP", "this TensorFlow lacks op%s %s%s" % (
            "s" if len(missing) > 1 else "", ", ".join(missing), _producer_note(model)), missing)
    if loader == "keras" and any(p in (error or "") for p in _KERAS_FORMAT_PATTERNS):
        return "PROBE_KERAS_FORMAT", "Keras cannot read this model: %s" % _last_line(error)[:400], []
    return "PROBE_MODEL_LOAD_FAILED", "loading the model failed: %s%s" % (
        _last_line(error)[:400] or exc_type, _producer_note(model)), []


def _producer_note(model):
    if model and model.get("tensorflow_version"):
        return " (the model was saved by TensorFlow %s)" % model["tensorflow_version"]
    return ""


def _signal_name(signum):
    try:
        return signal.Signals(signum).name
    except (ValueError, AttributeError):
        return "signal %d" % signum


# ----------------------------------------------------------------------------------------------
# Running it all

def _check(name, status, code, message, fix=None, details=None):
    return {"name": name, "status": status, "code": code, "message": message,
            "fix": FIXES.get(code, "") if fix is None else fix, "details": details or {}}


class _ChildRun(object):
    """The TF child: spawned at once, its events read until it ends or the deadline passes."""

    def __init__(self, config, deadline):
        self.deadline = deadline
        self.events = []
        self.phase = "import"
        self.stderr = bytearray()
        self.timed_out = False
        read_fd, write_fd = os.pipe()
        config = dict(config, fd=write_fd)
        env = dict(os.environ)
        env.setdefault("PYTHONFAULTHANDLER", "1")  # crash frames on stderr
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--child", json.dumps(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            pass_fds=(write_fd,), env=env, close_fds=True,
        )
        os.close(write_fd)
        self.read_fd = read_fd

    def wait(self):
        buf = b""
        fds = {self.read_fd: "events", self.proc.stderr.fileno(): "stderr"}
        while fds:
            left = self.deadline - time.monotonic()
            if left <= 0:
                self.timed_out = True
                break
            ready, _, _ = select.select(list(fds), [], [], min(left, 1.0))
            for fd in ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    del fds[fd]
                    continue
                if fds[fd] == "stderr":
                    self.stderr += chunk
                    del self.stderr[:-65536]
                    continue
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self._event(line)
        if self.timed_out:
            self.proc.kill()
        try:
            self.proc.wait(timeout=max(1.0, self.deadline - time.monotonic()) if not self.timed_out else 10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.read_fd)
        self.proc.stderr.close()
        return self

    def _event(self, line):
        try:
            event = json.loads(line.decode("utf-8", "replace"))
        except ValueError:
            return
        if isinstance(event, dict):
            self.events.append(event)
            if event.get("event") == "phase":
                self.phase = event.get("phase")

    def first(self, name):
        for event in self.events:
            if event.get("event") == name:
                return event
        return None

    @property
    def stderr_text(self):
        return self.stderr.decode("utf-8", "replace")


def _parent_work(args, result):
    """What needs no TensorFlow: runs in a thread while the child imports it."""
    t = time.monotonic()
    try:
        dists = installed_distributions()
        if dists is None:
            result["requirements_error"] = "this Python (%d.%d) has no importlib.metadata" % sys.version_info[:2]
            dists = {}
        result["dists"] = dists
        result["violations"] = requirement_violations(dists)
    except Exception as exc:
        result["requirements_error"] = "%s: %s" % (type(exc).__name__, exc)
    result["cpu_flags"] = cpu_flags()
    if args.gpu != "none":
        try:
            result["gpu_env"] = gpu_environment()
        except Exception as exc:
            result["gpu_env"] = {"error": "%s: %s" % (type(exc).__name__, exc)}
    if args.model:
        try:
            result["model"], result["model_problem"] = model_facts(args.model)
        except Exception as exc:
            result["model"], result["model_problem"] = None, {
                "code": "PROBE_MODEL_FACTS_UNREADABLE", "message": "reading %s failed: %s" % (args.model, exc)}
    result["seconds"] = time.monotonic() - t


def run_probe(args):
    """The full report (a dict)."""
    started = time.monotonic()
    deadline = started + args.budget
    model_path, fmt = None, None
    if args.model:
        fmt, where = model_format(args.model)
        if fmt is not None:
            model_path = where
    loader = args.loader
    if loader == "auto":
        loader = "keras" if fmt in ("keras_v3", "h5") else "saved_model"
    config = {"gpu": args.gpu, "model_path": model_path, "loader": loader}

    child = _ChildRun(config, deadline)
    parent = {}
    worker = threading.Thread(target=_parent_work, args=(args, parent))
    worker.daemon = True
    worker.start()
    child.wait()
    worker.join(max(0.0, deadline - time.monotonic()) + 5.0)

    dists = parent.get("dists") or {}
    violations = parent.get("violations") or []
    stack = _stack_facts(dists, parent, child)
    checks = []

    # Import
    imported = child.first("import")
    signum = -child.proc.returncode if (child.proc.returncode or 0) < 0 else None
    if imported and imported.get("ok"):
        checks.append(_check("import", "pass", "PROBE_IMPORT_OK", "TensorFlow %s imports" % (
            stack.get("tensorflow_version") or "?"), details={"seconds": imported.get("seconds")}))
    elif child.timed_out and not imported:
        checks.append(_check("import", "fail", "PROBE_IMPORT_TIMEOUT", "importing TensorFlow did not finish "
                             "within %.0f s" % args.budget, details={"stderr_tail": tail_lines(child.stderr_text)}))
    else:
        imported = imported or {}
        code, message = classify_import_failure(
            exc_type=imported.get("exc_type"), missing_module=imported.get("missing_module"),
            error=imported.get("error", ""), stderr=child.stderr_text, signum=signum,
            exit_status=child.proc.returncode if not imported else None, violations=violations)
        details = {"error_tail": tail_lines(imported.get("error", "")), "stderr_tail": tail_lines(child.stderr_text)}
        if signum is not None:
            details["signal"] = _signal_name(signum)
        checks.append(_check("import", "fail", code, message, details=details))
    import_ok = bool(imported and imported.get("ok"))
    stack["import_ok"] = import_ok
    stack["import_error_code"] = None if import_ok else checks[0]["code"]

    # Declared requirements
    if parent.get("requirements_error"):
        checks.append(_check("requirements", "skip", "PROBE_REQUIREMENTS_OK", "declared requirements not "
                             "checked: %s" % parent["requirements_error"]))
    elif violations:
        shown = ["%s %s requires %s, installed %s" % (v["package"], v["version"], v["requires"],
                                                       v["installed"] or "none") for v in violations]
        checks.append(_check("requirements", "warn", "PROBE_REQUIREMENT_VIOLATED",
                             "declared requirements violated: " + "; ".join(shown[:5])
                             + (" (and %d more)" % (len(shown) - 5) if len(shown) > 5 else ""),
                             details={"violations": violations[:50]}))
    else:
        checks.append(_check("requirements", "pass", "PROBE_REQUIREMENTS_OK",
                             "installed packages satisfy their declared requirements"))

    model = parent.get("model")
    problem = parent.get("model_problem")
    model_is_keras = bool(model and model.get("keras_format")) or loader == "keras"

    # tf.keras
    stack_event = child.first("stack") or {}
    raw = stack_event.get("stack") or {}
    if raw.get("tf_keras_error"):
        status = "fail" if (model_is_keras or not args.model) else "warn"
        checks.append(_check("tf_keras", status, "PROBE_TF_KERAS_BROKEN", "tf.keras cannot be used: %s%s" % (
            _last_line(raw["tf_keras_error"]), _keras_note(dists)), details={"error_tail": tail_lines(raw["tf_keras_error"])}))
    elif raw.get("tf_keras_module"):
        checks.append(_check("tf_keras", "pass", "PROBE_TF_KERAS_OK", "tf.keras is %s %s (%s)" % (
            raw.get("tf_keras_package"), raw.get("tf_keras_version") or "?", raw["tf_keras_module"])))

    # GPU
    if args.gpu == "none":
        checks.append(gpu_check("none", {}))
    elif import_ok:
        gpu_event = child.first("gpu")
        env = parent.get("gpu_env") or {}
        if gpu_event is None:
            phase_note = "hung" if child.timed_out else "crashed"
            checks.append(gpu_check(args.gpu, env, stack.get("_build"),
                                    error="TensorFlow %s while listing GPUs" % phase_note
                                    if child.phase == "gpu" else "the probe did not get that far"))
        elif not gpu_event.get("ok"):
            checks.append(gpu_check(args.gpu, env, stack.get("_build"), error=_last_line(gpu_event.get("error"))))
        else:
            checks.append(gpu_check(args.gpu, env, stack.get("_build"), tf_gpus=gpu_event.get("count", 0)))
        stack["gpus_visible"] = (gpu_event or {}).get("count")
    stack.pop("_build", None)

    # Model
    timings = {"import_s": _round((imported or {}).get("seconds")),
               "stack_s": _round((child.first("stack") or {}).get("seconds")),
               "gpu_s": _round((child.first("gpu") or {}).get("seconds"))}
    if args.model:
        checks.extend(_model_checks(args, child, model, problem, loader, import_ok, signum, timings))

    status = "fail" if any(c["status"] == "fail" for c in checks) else "pass"
    timings.update({"total_s": _round(time.monotonic() - started),
                    "parent_work_s": _round(parent.get("seconds"))})
    return {
        "probe": "tfguard", "report_version": REPORT_VERSION, "status": status, "mode": args.mode,
        "checks": checks, "stack": stack, "model": model, "timings": timings,
    }


def producer_matches(expected, recorded):
    """"2.15" matches a model saved by 2.15.1; "2.15.0" does not match 2.15.1."""
    want, have = _vtuple(expected), _vtuple(recorded)
    if not want or not have:
        return expected.strip() == recorded.strip()
    return have[:len(want)] == want


def _keras_note(dists):
    keras = dists.get("keras")
    return " (installed keras %s)" % keras[1] if keras else ""


def _round(value):
    return None if value is None else round(float(value), 3)


def _model_checks(args, child, model, problem, loader, import_ok, signum, timings):
    checks = []
    if problem and problem["code"] in ("PROBE_MODEL_NOT_FOUND", "PROBE_NOT_A_MODEL"):
        return [_check("model_load", "fail", problem["code"], problem["message"], details={"path": args.model})]
    if problem:
        checks.append(_check("model_facts", "warn", problem["code"], problem["message"]))
    if args.expected_producer and model is not None:
        recorded = model.get("tensorflow_version")
        if recorded and not producer_matches(args.expected_producer, recorded):
            checks.append(_check("producer", "warn", "PROBE_PRODUCER_MISMATCH", "expected a model saved by "
                                 "TensorFlow %s but %s records %s" % (args.expected_producer, args.model, recorded),
                                 details={"expected": args.expected_producer, "recorded": recorded}))
        elif recorded:
            checks.append(_check("producer", "pass", "PROBE_PRODUCER_MATCHES", "the model was saved by "
                                 "TensorFlow %s, as expected" % recorded))
    if not import_ok:
        checks.append(_check("model_load", "skip", "PROBE_MODEL_NOT_CHECKED",
                             "not loaded: TensorFlow does not import"))
        return checks
    load = child.first("load")
    if load is None:
        if child.timed_out and child.phase in ("load", "call"):
            checks.append(_check("model_load", "fail", "PROBE_MODEL_LOAD_TIMEOUT", "loading %s did not finish "
                                 "within the %.0f s budget" % (args.model, args.budget)))
        elif child.phase in ("load", "call"):
            how = "died of %s" % _signal_name(signum) if signum else "ended with status %s" % child.proc.returncode
            checks.append(_check("model_load", "fail", "PROBE_MODEL_LOAD_CRASHED", "loading %s: TensorFlow %s%s"
                                 % (args.model, how, _producer_note(model)),
                                 details={"stderr_tail": tail_lines(child.stderr_text)}))
        else:
            checks.append(_check("model_load", "skip", "PROBE_MODEL_NOT_CHECKED", "not loaded: the probe did "
                                 "not get that far (%s)" % ("time budget spent" if child.timed_out else child.phase)))
        return checks
    timings["load_s"] = _round(load.get("seconds"))
    if not load.get("ok"):
        code, message, missing = classify_load_failure(load.get("exc_type"), load.get("error", ""), loader, model)
        checks.append(_check("model_load", "fail", code, message,
                             details={"missing_ops": missing, "loader": loader,
                                      "error_tail": tail_lines(load.get("error", ""))}))
        return checks
    checks.append(_check("model_load", "pass", "PROBE_MODEL_LOADED", "%s loads with %s" % (
        args.model, "tf.keras.models.load_model" if loader == "keras" else "tf.saved_model.load"),
        details={"loader": loader, "signatures": load.get("signatures"), "seconds": load.get("seconds")}))
    call = child.first("call")
    if call is not None:
        timings["call_s"] = _round(call.get("seconds"))
        if call.get("ok"):
            checks.append(_check("signature", "pass", "PROBE_SIGNATURE_OK", "signature %s runs on zero-filled "
                                 "inputs" % call.get("signature")))
        else:
            code, message, missing = classify_load_failure(None, call.get("error", ""), loader, model)
            status = "fail" if code == "PROBE_MISSING_OP" else "warn"
            if code != "PROBE_MISSING_OP":
                code, message = "PROBE_SIGNATURE_CALL_FAILED", "calling signature %s failed: %s" % (
                    call.get("signature"), _last_line(call.get("error"))[:400])
            checks.append(_check("signature", status, code, message,
                                 details={"missing_ops": missing, "error_tail": tail_lines(call.get("error", ""))}))
    elif child.phase == "call" and child.timed_out:
        checks.append(_check("signature", "fail", "PROBE_MODEL_LOAD_TIMEOUT", "calling the serving signature did "
                             "not finish within the %.0f s budget" % args.budget))
    elif child.phase == "call":
        how = "died of %s" % _signal_name(signum) if signum else "ended with status %s" % child.proc.returncode
        checks.append(_check("signature", "fail", "PROBE_MODEL_LOAD_CRASHED", "calling the serving signature: "
                             "TensorFlow %s" % how, details={"stderr_tail": tail_lines(child.stderr_text)}))
    return checks


def _stack_facts(dists, parent, child):
    """StackFacts-shaped dict: observed values from the child, else installed package metadata."""
    def installed(*names):
        for name in names:
            if name in dists:
                return dists[name][1]
        return None

    tf_dist = next((d for d in _TF_DISTS if d in dists), None)
    raw = (child.first("stack") or {}).get("stack") or {}
    build = raw.get("build_info") or {}
    cuda_build = build.get("is_cuda_build")
    flags = parent.get("cpu_flags") or []
    stack = {
        "source": "probe",
        "tensorflow_version": raw.get("tensorflow_version") or (dists[tf_dist][1] if tf_dist else None),
        "tensorflow_git_version": raw.get("tensorflow_git_version"),
        "keras_version": installed("keras"),
        "tf_keras_major": None,
        "python_version": "%d.%d.%d" % sys.version_info[:3],
        "numpy_version": raw.get("numpy_version") or installed("numpy"),
        "protobuf_version": raw.get("protobuf_version") or installed("protobuf"),
        "cuda_build": None if cuda_build is None else cuda_build == "True",
        "cuda_version": build.get("cuda_version"),
        "cudnn_version": build.get("cudnn_version"),
        "import_ok": None,
        "import_error_code": None,
        "gpus_visible": None,
        "observed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "driver_version": (parent.get("gpu_env") or {}).get("driver_version"),
        # beyond StackFacts
        "tensorflow_package": dists[tf_dist][0] if tf_dist else None,
        "tf_keras_module": raw.get("tf_keras_module"),
        "tf_keras_version": raw.get("tf_keras_version"),
        "tf_keras_package_version": installed("tf-keras"),
        "build_info": build or None,
        "python_executable": sys.executable,
        "machine": platform.machine(),
        "cpu_simd": [f for f in _CPU_SIMD if f in flags],
        "cpu_flags": flags,
    }
    version = raw.get("tf_keras_version")
    if version and re.match(r"\d+", version):
        stack["tf_keras_major"] = int(re.match(r"\d+", version).group(0))
    stack["_build"] = {"is_cuda_build": stack["cuda_build"], "cuda_version": stack["cuda_version"]}
    return stack


# ----------------------------------------------------------------------------------------------
# The termination-log summary: what `kubectl describe pod` shows, at most 4096 bytes

_SUMMARY_STACK_KEYS = ("tensorflow_version", "tensorflow_git_version", "keras_version", "tf_keras_major",
                       "python_version", "numpy_version", "protobuf_version", "cuda_build", "cuda_version",
                       "cudnn_version", "import_ok", "import_error_code", "gpus_visible", "observed_at",
                       "driver_version", "tensorflow_package", "cpu_simd")
_SUMMARY_MODEL_KEYS = ("format", "tensorflow_version", "tensorflow_git_version", "graph_producer",
                       "graph_min_consumer", "graph_bad_consumers", "saved_model_schema_version", "keras_version",
                       "keras_format", "keras_backend", "digest", "path", "signatures")


def compress_ops(ops):
    return base64.b64encode(zlib.compress("\n".join(ops).encode("utf-8"), 9)).decode("ascii")


def termination_summary(report, limit=TERMINATION_LOG_LIMIT):
    """A compact JSON summary of the report that never exceeds `limit` bytes."""
    problems = [c for c in report.get("checks", []) if c.get("status") == "fail"]
    warnings = [c for c in report.get("checks", []) if c.get("status") == "warn"]
    stack = report.get("stack") or {}
    model = report.get("model")
    loaded = any(c.get("code") == "PROBE_MODEL_LOADED" and c.get("status") == "pass" for c in report.get("checks", []))

    def build(message_len, max_failed, with_warnings, ops_mode, with_signatures, with_stack):
        summary = {"probe": "tfguard", "summary": 1, "status": report.get("status"), "mode": report.get("mode"),
                   "failed": [{"code": c["code"], "message": _short(c.get("message"), message_len)}
                              for c in problems[:max_failed]]}
        if len(problems) > max_failed:
            summary["failed_more"] = [c["code"] for c in problems[max_failed:]][:20]
        if with_warnings:
            summary["warnings"] = [{"code": c["code"], "message": _short(c.get("message"), message_len)}
                                   for c in warnings[:5]]
        if with_stack:
            summary["stack"] = {k: stack.get(k) for k in _SUMMARY_STACK_KEYS if stack.get(k) not in (None, [], "")}
        if model is not None:
            m = {k: model.get(k) for k in _SUMMARY_MODEL_KEYS if model.get(k) not in (None, [], "")}
            if not with_signatures:
                m.pop("signatures", None)
            ops = model.get("ops") or []
            m["op_count"] = len(ops)
            if ops_mode == "plain":
                m["ops"] = ops
            elif ops_mode == "zlib":
                m["ops_z"] = compress_ops(ops)
            elif ops:
                m["ops_dropped"] = True
            summary["model"] = m
            summary["model_loaded"] = loaded
        summary["total_s"] = (report.get("timings") or {}).get("total_s")
        return json.dumps(summary, separators=(",", ":"), sort_keys=False)

    attempts = (
        (400, 10, True, "plain", True, True),
        (400, 10, True, "zlib", True, True),
        (200, 5, True, "zlib", False, True),
        (120, 5, False, "zlib", False, True),
        (120, 5, False, "none", False, True),
        (60, 3, False, "none", False, True),
        (60, 3, False, "none", False, False),
    )
    for attempt in attempts:
        text = build(*attempt)
        if len(text.encode("utf-8")) <= limit:
            return text
    minimal = {"probe": "tfguard", "summary": 1, "status": report.get("status"),
               "failed": [{"code": c["code"]} for c in problems[:20]]}
    while len(json.dumps(minimal, separators=(",", ":"))) > limit and minimal["failed"]:
        minimal["failed"].pop()
    return json.dumps(minimal, separators=(",", ":"))


def _short(text, limit):
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: max(0, limit - 3)] + "..."


def write_termination_log(text, path, explicit):
    """Write the summary; the default path is written only where Kubernetes created it."""
    if not path or (not explicit and not os.path.exists(path)):
        return False
    try:
        with open(path, "w") as f:
            f.write(text)
        return True
    except OSError as exc:
        sys.stderr.write("tfguard probe: cannot write the termination log %s: %s\n" % (path, exc))
        return False


def human_report(report):
    lines = ["tfguard probe: %s (%s mode)" % (report["status"].upper(), report["mode"])]
    for c in report["checks"]:
        lines.append("  [%s] %-12s %s: %s" % (c["status"], c["name"], c["code"], c["message"]))
        if c["status"] in ("fail", "warn") and c.get("fix"):
            lines.append("         fix: %s" % c["fix"])
    s = report["stack"]
    lines.append("stack: tensorflow %s (%s), python %s, numpy %s, protobuf %s, keras %s, tf.keras %s, cuda build %s"
                 % (s.get("tensorflow_version"), s.get("tensorflow_git_version"), s.get("python_version"),
                    s.get("numpy_version"), s.get("protobuf_version"), s.get("keras_version"),
                    s.get("tf_keras_module"), s.get("cuda_build")))
    m = report.get("model")
    if m:
        lines.append("model: %s %s, saved by tensorflow %s, %d ops, keras %s" % (
            m.get("format"), m.get("path"), m.get("tensorflow_version"), len(m.get("ops") or []),
            m.get("keras_version")))
    t = report["timings"]
    lines.append("timings: total %ss, import %ss, load %ss" % tuple(
        "-" if t.get(k) is None else t[k] for k in ("total_s", "import_s", "load_s")))
    return "\n".join(lines) + "\n"


def add_arguments(parser):
    """The probe's options; `tfguard probe` adds the same ones."""
    parser.add_argument("--model", metavar="PATH", help="the model: a SavedModel directory, a .keras or .h5 file")
    parser.add_argument("--expected-producer", metavar="VERSION",
                        help="the TensorFlow release that should have saved the model (e.g. 2.15.1)")
    parser.add_argument("--loader", choices=("auto", "saved_model", "keras"), default="auto",
                        help="how to load the model (default: by its format)")
    parser.add_argument("--gpu", choices=("required", "optional", "none"), default="optional",
                        help="whether TensorFlow must see a GPU (default: optional)")
    parser.add_argument("--mode", choices=("enforce", "warn", "audit"), default="enforce",
                        help="enforce: exit 1 when a check fails; warn, audit: report and exit 0")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_S, metavar="SECONDS",
                        help="time budget for the whole probe (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print the full JSON report")
    parser.add_argument("--termination-log", metavar="PATH", default=None,
                        help="where the summary goes (default: $TFGUARD_TERMINATION_LOG or %s, if it exists; "
                        "'' to skip)" % DEFAULT_TERMINATION_LOG)
    return parser


def argv_from(args):
    """The command line that reproduces parsed probe options."""
    argv = []
    for option, value in (("--model", args.model), ("--expected-producer", args.expected_producer),
                          ("--loader", args.loader), ("--gpu", args.gpu), ("--mode", args.mode),
                          ("--budget", repr(float(args.budget))), ("--termination-log", args.termination_log)):
        if value is not None:
            argv += [option, value]
    return argv + (["--json"] if args.json else [])


def build_parser():
    return add_arguments(argparse.ArgumentParser(
        prog="probe.py",
        description="tfguard probe: check that this image imports TensorFlow, sees its GPUs and loads a model."))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--child"]:
        return _child_main(json.loads(argv[1]))
    args = build_parser().parse_args(argv)
    if args.budget <= 0:
        build_parser().error("--budget must be positive")
    try:
        report = run_probe(args)
    except Exception as exc:  # never let a probe bug block a pod
        report = {"probe": "tfguard", "report_version": REPORT_VERSION, "status": "pass", "mode": args.mode,
                  "checks": [_check("probe", "warn", "PROBE_INTERNAL_ERROR", "the probe failed: %s: %s" % (
                      type(exc).__name__, exc), details={"traceback": tail_lines(traceback.format_exc(), 30, 4000)})],
                  "stack": {"source": "probe"}, "model": None, "timings": {}}
    explicit = args.termination_log is not None or "TFGUARD_TERMINATION_LOG" in os.environ
    path = args.termination_log if args.termination_log is not None else os.environ.get(
        "TFGUARD_TERMINATION_LOG", DEFAULT_TERMINATION_LOG)
    write_termination_log(termination_summary(report), path, explicit)
    if args.json:
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
    else:
        sys.stdout.write(human_report(report))
    sys.stdout.flush()
    return 1 if report["status"] == "fail" and args.mode == "enforce" else 0


if __name__ == "__main__":
    sys.exit(main())
