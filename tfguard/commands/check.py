"""`tfguard check`: will this model load in that image?

    tfguard check --model models/resnet/1 --image tensorflow/serving:2.15.0
    tfguard check --model model.keras --tensorflow 2.15.1 --keras 2.15.0 --loader keras --json
    tfguard check --model models/resnet/1 --image nvcr.io/nvidia/tensorflow:24.02-tf2-py3 --gpu

Exit status: 0 compatible, risky or unknown; 1 incompatible; 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import sys

from tfguard.commands.output import write_stdout
from tfguard.compat.facts import LOADERS, StackFacts


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="judge whether a model loads in an image or a TensorFlow release",
        description="Read the model without TensorFlow and judge it against an image's TensorFlow stack.",
    )
    parser.add_argument("--model", required=True, metavar="PATH", help="SavedModel directory, .keras or .h5 file")
    runtime = parser.add_mutually_exclusive_group(required=True)
    runtime.add_argument("--image", metavar="REF", help="a well-known image, e.g. tensorflow/serving:2.15.0")
    runtime.add_argument("--tensorflow", metavar="VER", help="the TensorFlow release of the runtime, e.g. 2.15.1")
    parser.add_argument("--keras", metavar="VER", help="the keras package of the runtime (with --tensorflow)")
    parser.add_argument(
        "--loader", choices=LOADERS, default="auto",
        help="saved_model (tf.saved_model.load, TF Serving), keras (tf.keras.models.load_model), "
        "or auto (from the model's format)",
    )
    parser.add_argument("--gpu", action="store_true", help="the workload requires a GPU")
    parser.add_argument("--json", action="store_true", help="print the verdict as JSON")
    parser.set_defaults(func=run)


def _usage(message: str) -> int:
    print(f"tfguard check: {message}", file=sys.stderr)
    return 2


def stack_from_args(args: argparse.Namespace) -> StackFacts:
    from tfguard.compat import catalog

    if args.image:
        return catalog.lookup(args.image)
    return StackFacts(source="explicit", tensorflow_version=args.tensorflow, keras_version=args.keras)


def run(args: argparse.Namespace) -> int:
    from tfguard.compat.inspect import InspectError, inspect_model
    from tfguard.compat.verdict import evaluate, version_key

    if args.keras and not args.tensorflow:
        return _usage("--keras goes with --tensorflow (an --image's Keras comes from the catalog)")
    for flag, value in (("--tensorflow", args.tensorflow), ("--keras", args.keras)):
        if value is not None and version_key(value) is None:
            return _usage(f"{flag} {value!r} is not a version number (e.g. 2.15.1)")
    if args.image is not None and not args.image.strip():
        return _usage("--image is empty")
    try:
        model = inspect_model(args.model)
    except InspectError as exc:
        return _usage(str(exc))
    except ValueError as exc:  # a malformed TFGUARD_INSPECT_* limit
        return _usage(str(exc))

    verdict = evaluate(
        model,
        stack_from_args(args),
        loader=args.loader,
        gpu="required" if args.gpu else "none",
        model_name=args.model,
    )
    if args.json:
        text = json.dumps(verdict.to_dict(), indent=2) + "\n"
    else:
        text = human(verdict)
    write_stdout(text)
    return 1 if verdict.verdict == "incompatible" else 0


def human(verdict) -> str:
    runtime = verdict.image or "the given TensorFlow release"
    lines = [f"{verdict.verdict.upper()}: {verdict.model} on {runtime}"]
    for f in verdict.findings:
        lines.append(f"  {f.severity:<7} {f.code}: {f.message}")
        lines.append(f"          fix: {f.fix}")
    if not verdict.findings:
        lines.append("  every op, attr and format check passed")
    return "\n".join(lines) + "\n"
