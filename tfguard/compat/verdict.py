"""The verdict engine: model facts + image stack facts -> a Verdict with findings.

The one place that decides whether a model loads in an image; the CLI (`tfguard check`), the
admission webhook and the operator all call `evaluate`. It is pure and does no I/O: release facts
come from `tfguard.compat.releases` (generated from real wheels), everything else from the facts
passed in. The rules live in `tfguard.compat.rules`, one module per area, and follow what
TensorFlow and Keras actually do when the loader (`tfguard.compat.loaders`) loads a model:

- GraphDef versions, as `CheckVersions` in tensorflow/core/framework/versions.cc does;
- every op type in the graph registered in the runtime (else the load fails), a kernel for the
  device that will run it, and every attr a NodeDef sets declared by the runtime's OpDef (attrs
  starting with `_` are exempt, as in `ValidateNodeDef`). An undeclared attr is a warning, not a
  failure: measured, TF 2.15.1 loads and runs a node with an attr its OpDef lacks, ignoring it;
- what each loader accepts: `tf.saved_model.load` / TF Serving read SavedModel directories only;
  Keras 3 `load_model` reads .keras and .h5 only; Keras 2 cannot read Keras 3 files (measured
  with TF 2.15.1 and 2.20.0, see docs/verdicts.md);
- a GPU request against a CPU-only build, the NVIDIA driver against the build's CUDA, and the
  nodes the pod can land on (driver, compute capability, CPU instructions; docs/gpu.md).

A newer producer is never a reason in itself: a model from a newer release whose ops and attrs
all exist in the runtime is not incompatible. With version facts alone the engine says `risky`,
never `incompatible`.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Iterable, Optional

from tfguard.compat import loaders as L
from tfguard.compat.facts import GPU_CHOICES, ModelFacts, NodeFacts, StackFacts, Verdict
from tfguard.compat.judgement import Judgement, version_key
from tfguard.compat.rules import files, formats, graph, keras, keras_config, metagraphs, objects, unmeasured
from tfguard.compat.rules import gpu as gpu_rules
from tfguard.compat.rules import stack as stack_rules

__all__ = ["evaluate", "version_key"]

_SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


def evaluate(
    model: Optional[ModelFacts],
    stack: StackFacts,
    *,
    loader: str = "auto",
    gpu: str = "none",
    model_name: Optional[str] = None,
    nodes: Optional[list[NodeFacts]] = None,
    imports: Optional[Iterable[str]] = None,
) -> Verdict:
    """Judge whether `model` loads with `loader` in the image described by `stack`.

    `gpu` is "required", "optional" or "none"; `loader` is one of tfguard.compat.loaders.CHOICES.
    Findings come errors first, then warnings, then infos, each group in rule order. The verdict
    names the loader it judged. `nodes` are the nodes the pod can be scheduled on, grouped by their
    facts (tfguard.workload.nodes); None when not known (no node check). `imports` are the Python
    modules the server imports before it loads the model (a custom-op library registers its ops only
    then: tensorflow_text); None when not known (a Python server's own code is not in the facts), so an
    installed library is not assumed to be left unimported.
    """
    if L.canonical(loader) is None:
        raise ValueError(f"loader must be one of {', '.join(L.CHOICES)}, not {loader!r}")
    if gpu not in GPU_CHOICES:
        raise ValueError(f"gpu must be one of {', '.join(GPU_CHOICES)}, not {gpu!r}")
    j = Judgement(model, stack, loader, gpu, model_name)
    j.imports = frozenset(imports or ())
    j.imports_known = imports is not None

    stack_rules.import_and_release(j)
    gpu_rules.build_and_driver(j)
    gpu_rules.node_pool(j, nodes)
    if not j.has_model_facts:
        j.unknown = True
        j.add(
            "MODEL_FACTS_MISSING", "info",
            f"nothing is known about the {j.model_label}: only {j.runtime_label} was judged",
        )
    elif not files.readable(j):
        # A loader refuses a file's format before it reads a byte of it: say that too.
        formats.loader_accepts_format(j)
        if j.tf_key is not None:
            keras.keras_format_refused(j)
    else:
        formats.loader_accepts_format(j)
        files.checkpoint(j)
        files.assets(j)
        metagraphs.metagraph(j)
        metagraphs.placement(j)
        if j.tf_key is not None:
            stack_rules.knowledge(j)
            keras.keras_formats(j)
            keras_config.config(j)
            objects.object_graph(j)
            graph.graph(j)
            # The build's GPU and nodes are judged above, from its own facts.
            unmeasured.inherited_failures(
                j, lambda as_release: evaluate(model, as_release, loader=loader, model_name=model_name,
                                               imports=j.imports if j.imports_known else None),
            )

    j.findings.sort(key=lambda f: _SEVERITY_RANK.get(f.severity, 3))
    severities = {f.severity for f in j.findings}
    if "error" in severities:
        outcome = "incompatible"
    elif j.unknown:
        outcome = "unknown"
    elif "warning" in severities:
        outcome = "risky"
    else:
        outcome = "compatible"
    return Verdict(
        verdict=outcome,
        findings=j.findings,
        model=model_name or (model.path if model else None),
        image=stack.image,
        loader=j.loader,
    )
