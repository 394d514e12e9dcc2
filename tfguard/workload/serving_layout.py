"""TF Serving's model directory layout, read from a container's command, args and env.

`tensorflow_model_server` serves a model from a *base path* that holds one directory per numeric
version (`/models/resnet/1/saved_model.pb`, `/models/resnet/2/...`); with the default version
policy it serves the newest numeric version and ignores everything else in the directory. It is
told where through `--model_name` and `--model_base_path` (or a `--model_config_file` listing
several models); the tensorflow/serving images start it as
`--model_name=${MODEL_NAME} --model_base_path=${MODEL_BASE_PATH}/${MODEL_NAME}` with
MODEL_NAME=model and MODEL_BASE_PATH=/models unless the env says otherwise (tf_serving_entrypoint.sh).

Pure functions of the pod spec: no I/O here (the admission path must not do any). The probe, which
runs in the pod and can list the directory, picks the version itself (`newest_version`, repeated
stdlib-only in tfguard/probes/probe.py).
"""

from __future__ import annotations

import os
import posixpath
import re
from typing import Any, Optional

from tfguard.records import record

SERVER_BINARY = "tensorflow_model_server"
DEFAULT_MODEL_NAME = "model"
DEFAULT_BASE = "/models"
_ENV_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")  # Kubernetes' $(VAR) expansion in args
_SHELL_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
FLAGS = ("model_name", "model_base_path", "model_config_file")


@record(frozen=True)
class ServingLayout:
    """Where a TF Serving container looks for its model."""

    model_name: Optional[str]
    base_path: Optional[str]  # the directory that holds the numeric versions
    config_file: Optional[str] = None  # --model_config_file: the models are listed there instead
    source: str = "args"  # "args" (flags given), "env" (the image's entrypoint defaults and env)

    @property
    def describes_one_model(self) -> bool:
        return self.config_file is None and bool(self.base_path)


def _argv(container: dict[str, Any]) -> list[str]:
    words: list[str] = []
    for key in ("command", "args"):
        value = container.get(key)
        if isinstance(value, list):
            words += [w for w in value if isinstance(w, str)]
    # `sh -c "tensorflow_model_server --model_name=x ..."`: the flags are inside one word
    return [part for w in words for part in (w.split() if SERVER_BINARY in w and " " in w else [w])]


def _env(container: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in container.get("env") or []:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("value"), str):
            env[item["name"]] = item["value"]
    return env


def _expand(value: str, env: dict[str, str]) -> str:
    value = _ENV_REF.sub(lambda m: env.get(m.group(1), m.group(0)), value)
    return _SHELL_REF.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), value)


def flags(argv: list[str]) -> dict[str, str]:
    """--flag=value and --flag value (also -flag, as absl accepts) for the flags that matter here."""
    found: dict[str, str] = {}
    i = 0
    while i < len(argv):
        word = argv[i].lstrip("-") if argv[i].startswith("-") else None
        if word is not None:
            name, eq, value = word.partition("=")
            if name in FLAGS:
                if eq:
                    found[name] = value
                elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                    found[name] = argv[i + 1]
                    i += 1
        i += 1
    return found


def runs_model_server(container: dict[str, Any]) -> bool:
    return any(SERVER_BINARY in posixpath.basename(w) or w.startswith(SERVER_BINARY) for w in _argv(container))


def read_layout(container: Optional[dict[str, Any]], serving_image: bool = False,
                substitutions: Optional[dict[str, str]] = None) -> Optional[ServingLayout]:
    """The layout a TF Serving container serves from; None when it does not run TF Serving.

    `serving_image`: the image is known to be a TF Serving image (its entrypoint starts the server
    when no command is given). `substitutions` replace `{{.Name}}`-style placeholders (a KServe
    ServingRuntime's arguments) before reading."""
    if not isinstance(container, dict):
        return None
    argv = _argv(container)
    if substitutions:
        argv = [_substitute(w, substitutions) for w in argv]
    env = _env(container)
    given = {k: _expand(v, env) for k, v in flags(argv).items()}
    if given or runs_model_server(container):
        return ServingLayout(
            model_name=given.get("model_name"),
            base_path=_clean(given.get("model_base_path")),
            config_file=_clean(given.get("model_config_file")),
            source="args",
        )
    if serving_image and not container.get("command"):
        name = env.get("MODEL_NAME") or DEFAULT_MODEL_NAME
        base = env.get("MODEL_BASE_PATH") or DEFAULT_BASE
        return ServingLayout(model_name=name, base_path=_clean(posixpath.join(base, name)), source="env")
    return None


def _substitute(word: str, values: dict[str, str]) -> str:
    return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda m: values.get(m.group(1), m.group(0)), word)


def _clean(path: Optional[str]) -> Optional[str]:
    if not path:
        return None
    if "://" in path:
        return path
    return posixpath.normpath(path) if path.startswith("/") else path


# --- on a file system (the CLI, tests; the probe has its own stdlib copy) ---


def newest_version(base: str) -> Optional[str]:
    """The version directory TF Serving's default policy serves: the highest numeric name that
    holds a saved_model.pb or .pbtxt. None when `base` holds no such directory."""
    try:
        names = os.listdir(base)
    except OSError:
        return None
    versions = []
    for name in names:
        if name.isdigit() and any(os.path.isfile(os.path.join(base, name, f)) for f in ("saved_model.pb", "saved_model.pbtxt")):
            versions.append(int(name))
    return os.path.join(base, str(max(versions))) if versions else None


def model_directory(path: str) -> str:
    """`path` itself when it is a SavedModel; else the newest version below it, as TF Serving picks."""
    if any(os.path.isfile(os.path.join(path, f)) for f in ("saved_model.pb", "saved_model.pbtxt")):
        return path
    return newest_version(path) or path
