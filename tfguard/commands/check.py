"""`tfguard check`: will this model load in that image? Will these manifests' models load?

    tfguard check --model models/resnet/1 --image tensorflow/serving:2.15.0
    tfguard check --model model.keras --tensorflow 2.15.1 --keras 2.15.0 --loader keras --output json
    tfguard check --model models/resnet/1 --image nvcr.io/nvidia/tensorflow:24.02-tf2-py3 --gpu
    tfguard check --manifests deploy/ --profiles profiles/ --output sarif > tfguard.sarif
    helm template serving ./chart | tfguard check --manifests - --model resnet=models/resnet/1 --output junit

Exit status: 0 compatible, risky or unknown; 1 incompatible; 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from tfguard.commands.formats import FORMATS
from tfguard.commands.output import write_stdout
from tfguard.compat.facts import LOADERS, StackFacts


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check",
        help="judge whether a model loads in an image, or the workloads of manifests as the webhook would",
        description="Read the model without TensorFlow and judge it against an image's TensorFlow stack; "
        "or judge every pod controller in rendered manifests exactly as the admission webhook would.",
    )
    parser.add_argument(
        "--model", action="append", default=[], metavar="PATH | NAME=PATH",
        help="SavedModel directory, .keras or .h5 file; with --manifests, NAME=PATH judges the workloads "
        "annotated tfguard.io/model-profile: NAME with that model (repeatable)",
    )
    parser.add_argument(
        "--manifests", action="append", default=[], metavar="DIR | FILE | -",
        help="judge every Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob and KServe InferenceService "
        "in these YAML/JSON files (a directory: every file below it; -: stdin, e.g. `helm template` output); "
        "repeatable",
    )
    parser.add_argument(
        "--profiles", action="append", default=[], metavar="DIR | FILE",
        help="ModelProfiles, ImageStacks and KServe serving runtimes (tfguard inspect --profile, kubectl get "
        "imagestacks -o yaml, kubectl get clusterservingruntimes,servingruntimes -A -o yaml) the webhook would "
        "know, for --manifests; repeatable",
    )
    parser.add_argument("--namespace", default="default", metavar="NS",
                        help="namespace of manifest objects that name none (default: default)")
    runtime = parser.add_mutually_exclusive_group()
    runtime.add_argument("--image", metavar="REF", help="a well-known image, e.g. tensorflow/serving:2.15.0")
    runtime.add_argument("--tensorflow", metavar="VER", help="the TensorFlow release of the runtime, e.g. 2.15.1")
    parser.add_argument("--keras", metavar="VER", help="the keras package of the runtime (with --tensorflow)")
    parser.add_argument(
        "--loader", choices=LOADERS, default="auto",
        help="saved_model (tf.saved_model.load, TF Serving), keras (tf.keras.models.load_model), "
        "or auto (from the model's format)",
    )
    parser.add_argument(
        "--import", dest="imports", action="append", default=None, metavar="MODULE",
        help="a module the server imports before it loads the model (a custom-op library, the package of "
        "custom Keras classes); repeatable, '' for none. Not given: not known, and what depends on it is a warning",
    )
    parser.add_argument("--gpu", action="store_true", help="the workload requires a GPU")
    parser.add_argument("--output", "-o", choices=FORMATS, default=None,
                        help="text (default), json, sarif (GitHub/GitLab code scanning) or junit (CI test reports)")
    parser.add_argument("--json", action="store_true", help="the same as --output json")
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
    if args.json and args.output not in (None, "json"):
        return _usage("--json and --output %s contradict each other" % args.output)
    output = "json" if args.json else (args.output or "text")
    if args.manifests:
        return run_manifests(args, output)
    if len(args.model) != 1 or "=" in args.model[0] and not os.path.exists(args.model[0]):
        return _usage("give one --model PATH (NAME=PATH goes with --manifests)")
    if args.image is None and args.tensorflow is None:
        return _usage("give --image REF or --tensorflow VER (or --manifests to judge workloads)")
    if args.profiles:
        return _usage("--profiles goes with --manifests")
    return run_model(args, args.model[0], output)


def run_model(args: argparse.Namespace, model_path: str, output: str) -> int:
    from tfguard.compat.facts import ModelFacts
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
        model = inspect_model(model_path, digest=False)  # the verdict does not need it: hashing reads every file
    except InspectError as exc:
        if not exc.unloadable:
            return _usage(str(exc))
        model = ModelFacts(path=model_path, format=exc.format or "saved_model", unloadable=exc.problem)
    except ValueError as exc:  # a malformed TFGUARD_INSPECT_* limit
        return _usage(str(exc))

    stack = stack_from_args(args)
    imports = None if args.imports is None else [m.strip() for m in args.imports if m.strip()]
    verdict = evaluate(model, stack, loader=args.loader, gpu="required" if args.gpu else "none", model_name=model_path,
                       imports=imports)
    if output == "json":
        text = json.dumps(verdict.to_dict(), indent=2) + "\n"
    elif output == "text":
        text = human(verdict)
    else:
        from tfguard.commands.formats import render
        from tfguard.commands.manifests import Result

        result = Result(subject=model_path, verdict=verdict.verdict, findings=list(verdict.findings), file=model_path,
                        image=verdict.image, stack_source=stack.source, model_source=model.source,
                        message=verdict.summary)
        text = render([result], output)
    write_stdout(text)
    return 1 if verdict.verdict == "incompatible" else 0


def run_manifests(args: argparse.Namespace, output: str) -> int:
    from tfguard.commands.formats import exit_code, render
    from tfguard.commands.manifests import (FACT_KINDS, JUDGED_KINDS, fact_store, judge_documents, manifest_files,
                                            namespace_of, read_documents)
    from tfguard.compat.inspect import InspectError
    from tfguard.errors import ConfigError
    from tfguard.progress import Progress

    if args.image or args.tensorflow or args.keras or args.gpu or args.loader != "auto":
        return _usage("with --manifests, each workload's image and model come from its manifest and annotations "
                      "(leave out --image, --tensorflow, --keras, --loader and --gpu)")
    models: dict[str, str] = {}
    for given in args.model:
        name, eq, path = given.partition("=")
        if not eq or not name or not path:
            return _usage(f"--model {given!r}: with --manifests give NAME=PATH (the ModelProfile name the "
                          "workloads' tfguard.io/model-profile annotation names)")
        models[name] = path
    try:
        files = list(manifest_files(args.manifests))
        fact_files = list(manifest_files(args.profiles))
        documents = []
        with Progress(len(files) + len(fact_files), "reading manifests") as progress:
            for path in files + fact_files:
                documents += read_documents(path) if path in files else [
                    d for d in read_documents(path) if d.obj.get("kind") in FACT_KINDS]
                progress.advance(note=path)
        namespaces = {namespace_of(d.obj, args.namespace) for d in documents if d.obj.get("kind") in JUDGED_KINDS}
        store = fact_store(documents, models, namespaces or {args.namespace}, args.namespace)
    except ConfigError as exc:
        return _usage(str(exc))
    except InspectError as exc:
        return _usage(str(exc))
    except OSError as exc:
        return _usage(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}")
    results = judge_documents([d for d in documents if d.obj.get("kind") not in FACT_KINDS], store, args.namespace)
    if not results:
        print("tfguard check: no Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob or InferenceService in "
              + ", ".join(args.manifests), file=sys.stderr)
    write_stdout(render(results, output))
    return exit_code(results)


def human(verdict) -> str:
    runtime = verdict.image or "the given TensorFlow release"
    lines = [f"{verdict.verdict.upper()}: {verdict.model} on {runtime}"]
    for f in verdict.findings:
        lines.append(f"  {f.severity:<7} {f.code}: {f.message}")
        lines.append(f"          fix: {f.fix}")
    if not verdict.findings:
        lines.append("  every op, attr and format check passed")
    return "\n".join(lines) + "\n"
