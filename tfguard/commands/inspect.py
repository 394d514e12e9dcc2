"""`tfguard inspect PATH`: what a model is, read without TensorFlow.

    tfguard inspect models/resnet/1                  # readable summary
    tfguard inspect models/resnet/1 --json           # ModelFacts as JSON
    tfguard inspect models/resnet/1 --annotations    # Deployment annotations to paste
    tfguard inspect models/resnet/1 --profile resnet --namespace serving | kubectl apply -f -
"""

from __future__ import annotations

import argparse
import json
import re
import sys

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Optional

from tfguard import annotations
from tfguard.commands.output import write_stdout
from tfguard.compat.facts import ModelFacts


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "inspect",
        help="read a model (SavedModel directory, .keras, .h5) without TensorFlow",
        description="Read a model without importing TensorFlow and print what tfguard learns from it.",
    )
    parser.add_argument("path", metavar="PATH", help="a SavedModel directory, a .keras zip or a Keras .h5 file")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the model facts as JSON")
    output.add_argument(
        "--annotations", action="store_true", help="print the Deployment annotations to add, as YAML"
    )
    parser.add_argument(
        "--profile", metavar="NAME", help="print a ModelProfile named NAME as YAML (for kubectl apply)"
    )
    parser.add_argument("--namespace", metavar="NS", help="namespace of the ModelProfile (with --profile)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tfguard.compat.inspect import InspectError, inspect_model

    if args.namespace and not args.profile:
        print("tfguard inspect: --namespace needs --profile", file=sys.stderr)
        return 2
    if args.profile and args.json:
        print("tfguard inspect: --profile prints YAML; leave out --json", file=sys.stderr)
        return 2
    try:
        facts = inspect_model(args.path)
    except InspectError as exc:
        print(f"tfguard inspect: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # a malformed TFGUARD_INSPECT_* limit
        print(f"tfguard inspect: {exc}", file=sys.stderr)
        return 2

    if args.annotations:
        text = annotations_yaml(facts, args.profile)
    elif args.profile:
        text = profile_yaml(facts, args.profile, args.namespace)
    elif args.json:
        text = json.dumps(facts.to_dict(), indent=2) + "\n"
    else:
        text = summary(facts)
    write_stdout(text)
    return 0


def suggested_loader(facts: ModelFacts) -> str:
    """The loader serving code most likely uses for this format."""
    return "saved_model" if facts.format == "saved_model" else "keras"


def annotations_yaml(facts: ModelFacts, profile: Optional[str] = None) -> str:
    values = {}
    if facts.tensorflow_version:
        values[annotations.MODEL_PRODUCER_VERSION] = facts.tensorflow_version
    values[annotations.MODEL_LOADER] = suggested_loader(facts)
    if profile:
        values[annotations.MODEL_PROFILE] = _profile_name(profile)
    lines = ["# Add under metadata.annotations of the Deployment (or its pod template):"]
    if not facts.tensorflow_version:
        lines.append(
            f"# {annotations.MODEL_PRODUCER_VERSION}: not recorded in a {facts.format} file "
            f"(it holds only the Keras version, {facts.keras_version or 'unknown'})"
        )
    lines.append(f"# {annotations.MODEL_PATH}: <path of the model inside the serving container>")
    body = kube_yaml(values)
    return "\n".join(lines) + "\n" + body


def _profile_name(name: str) -> str:
    from tfguard.compat.resources import model_profile_resource

    return model_profile_resource(ModelFacts(), name)["metadata"]["name"]


# Words that YAML 1.1 parsers (kubectl's among them) read as booleans; PyYAML leaves y/n unquoted.
_YAML11_BOOLEAN_WORDS = re.compile(r"^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF|true|True|TRUE|false|False|FALSE)$")


def kube_yaml(document) -> str:
    """YAML that kubectl reads back as it was written: attr names like `N` stay strings."""
    import yaml

    class KubeDumper(yaml.SafeDumper):
        pass

    def represent_str(dumper, value):
        style = "'" if _YAML11_BOOLEAN_WORDS.match(value) else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    KubeDumper.add_representer(str, represent_str)
    return yaml.dump(document, Dumper=KubeDumper, default_flow_style=False, sort_keys=False)


def profile_yaml(facts: ModelFacts, name: str, namespace: Optional[str] = None) -> str:
    from tfguard.compat.releases import newest_op_release
    from tfguard.compat.resources import model_profile_resource

    resource = model_profile_resource(facts, name, namespace, newest_op_release(facts.ops))
    return kube_yaml(resource)


def summary(facts: ModelFacts) -> str:
    rows: list[tuple[str, str]] = [("model", facts.path or "")]
    if facts.format == "saved_model":
        rows.append(("format", f"SavedModel (schema version {facts.saved_model_schema_version})"))
        producer = facts.tensorflow_version or "unknown"
        if facts.tensorflow_git_version:
            producer += f" ({facts.tensorflow_git_version})"
        rows.append(("written by", f"TensorFlow {producer}"))
        bad = ", ".join(map(str, facts.graph_bad_consumers)) or "none"
        rows.append((
            "GraphDef",
            f"producer {_or_unknown(facts.graph_producer)}, min_consumer "
            f"{_or_unknown(facts.graph_min_consumer)}, bad_consumers {bad}",
        ))
    else:
        rows.append(("format", {"keras_v3": ".keras zip (Keras v3 format)", "h5": "Keras HDF5"}.get(
            facts.format or "", facts.format or "unknown")))
    if facts.keras_format or facts.keras_version:
        keras = f"{facts.keras_version or 'unknown version'}"
        if facts.keras_format == "saved_model_keras":
            keras += " (keras_metadata.pb)"
        if facts.keras_backend:
            keras += f", backend {facts.keras_backend}"
        rows.append(("Keras", keras))
    elif facts.format == "saved_model":
        rows.append(("Keras", "no keras_metadata.pb (a plain SavedModel)"))
    if facts.weights_only:
        rows.append(("contents", "weights only: no model config, no loader can build a model from it"))
    if facts.format == "saved_model":
        rows.append(("signatures", ", ".join(facts.signatures) or "none"))
        rows.append((f"ops ({len(facts.ops)})", ", ".join(facts.ops)))
    if facts.digest:
        rows.append(("digest", facts.digest))
    width = max(len(label) for label, _ in rows) + 2
    return "".join(f"{label + ':':<{width}}{value}\n" for label, value in rows)


def _or_unknown(value) -> str:
    return "unknown" if value is None else str(value)
