"""Loading the graph: GraphDef versions, registered ops, declared attrs, CPU kernels, a newer producer."""

from __future__ import annotations

from tfguard.compat import loaders as L
from tfguard.compat import releases
from tfguard.compat.judgement import Judgement, listing, version_key
from tfguard.compat.rules import op_libraries


def graph(j: Judgement) -> None:
    """For loaders that import the graph: tf2, serving, and Keras 2 reading a SavedModel."""
    m, release = j.model, j.release
    loads_graph = m.format == "saved_model" and (j.loads_saved_model or (j.loads_with_keras and j.keras_major == 2))
    if m.format and not loads_graph:
        return  # a Keras file: its config is rebuilt, no graph is loaded

    if loads_graph and release is not None:
        _graphdef_versions(j)

    newer = j.producer_newer()
    ops = m.ops if loads_graph else []
    if ops and j.measured:
        problems = _ops(j, ops)
        if newer and not problems:
            if m.op_attrs:
                j.add(
                    "PRODUCER_NEWER_OPS_PRESENT", "info",
                    f"the {j.model_label} comes from TensorFlow {m.tensorflow_version or '(newer)'}, newer than "
                    f"{j.runtime_label}, but all {len(ops)} ops it uses and their attrs exist there",
                    producer=m.tensorflow_version, ops=len(ops),
                )
            else:
                j.add(
                    "PRODUCER_NEWER_UNVERIFIED", "warning",
                    f"the {j.model_label} comes from TensorFlow {m.tensorflow_version or '(newer)'}, newer than "
                    f"{j.runtime_label}: all {len(ops)} ops exist there, but the attrs its nodes set are not known",
                    producer=m.tensorflow_version,
                )
        return

    if ops and not j.measured and _ops_newer_than_unmeasured_runtime(j, ops):
        return
    if newer:
        if not m.format:
            why = "only its producer version is known"
        elif not ops:
            why = "its op set is not known"
        else:
            why = f"tfguard has no op registry for TensorFlow {j.tf}"
        j.add(
            "PRODUCER_NEWER_UNVERIFIED", "warning",
            f"the {j.model_label} comes from TensorFlow {m.tensorflow_version or '(newer)'}, newer than "
            f"{j.runtime_label}, and {why}: it usually loads unless it uses ops or attrs the runtime lacks",
            producer=m.tensorflow_version,
        )
    elif not m.format and m.tensorflow_version:
        j.add(
            "VERSION_FACTS_ONLY", "info",
            f"only the producer version of the {j.model_label} is known (TensorFlow {m.tensorflow_version}); "
            f"it is not newer than {j.runtime_label}",
            producer=m.tensorflow_version,
        )


def _graphdef_versions(j: Judgement) -> None:
    """As `CheckVersions` in tensorflow/core/framework/versions.cc."""
    m, release = j.model, j.release
    consumer = release.graph_def_version
    if consumer is None:
        return
    if m.graph_min_consumer is not None and m.graph_min_consumer > consumer:
        j.add(
            "GRAPH_MIN_CONSUMER", "error",
            f"the {j.model_label}'s graph needs GraphDef consumer {m.graph_min_consumer} or newer; "
            f"{j.runtime_label} is GraphDef version {consumer}",
            min_consumer=m.graph_min_consumer, runtime=consumer,
        )
    if consumer in (m.graph_bad_consumers or ()):
        j.add(
            "GRAPH_BAD_CONSUMER", "error",
            f"the {j.model_label}'s graph disallows GraphDef consumer {consumer}, the version of {j.runtime_label}",
            bad_consumers=list(m.graph_bad_consumers), runtime=consumer,
        )
    min_producer = release.graph_def_min_producer
    if m.graph_producer is not None and min_producer is not None and m.graph_producer < min_producer:
        j.add(
            "GRAPH_PRODUCER_TOO_OLD", "error",
            f"the {j.model_label}'s graph was produced at GraphDef version {m.graph_producer}, below the "
            f"minimum {min_producer} that {j.runtime_label} accepts",
            producer=m.graph_producer, min_producer=min_producer,
        )


def first_release(op: str) -> str:
    first = releases.first_release_with_op(op)
    return f"{op} (first in TensorFlow {first})" if first else f"{op} (in no release tfguard knows: a custom op?)"


def _first_release_with_attr(pair: tuple[str, str]) -> str:
    """`op.attr (first in TensorFlow X)`: a scan of every release, so only for the pairs a message shows."""
    op, attr = pair
    for release in releases.measured_releases():
        if attr in release.op_attrs.get(op, ()):
            return f"{op}.{attr} (first in TensorFlow {release.series})"
    return f"{op}.{attr}"


def _ops(j: Judgement, ops: list[str]) -> bool:
    """Registered ops, declared attrs and CPU kernels against a measured release.

    True if something the model uses is missing (an op, or an attr its nodes set). Ops a custom-op
    library registers are judged by rules.op_libraries."""
    release, m = j.release, j.model
    registered = release.ops
    missing = [] if registered.issuperset(ops) else [op for op in ops if op not in registered]
    if missing:
        missing = op_libraries.not_loaded(j, missing)
    unregistered = op_libraries.report(j, missing) if missing else []
    if unregistered:
        j.add(
            "OP_NOT_REGISTERED", "error",
            f"the {j.model_label} uses {len(unregistered)} op{'s' if len(unregistered) > 1 else ''} that "
            f"{j.runtime_label} does not register: {listing(unregistered, first_release)}",
            ops=unregistered,
            first_release={op: releases.first_release_with_op(op) for op in unregistered},
        )

    unknown_attrs: dict[str, list[str]] = {}
    declared_by = release.op_attrs
    for op, attrs in (m.op_attrs or {}).items():
        declared = declared_by.get(op)
        if declared is None:
            continue  # op missing (reported above) or no attr facts for it
        for attr in attrs:  # the hot loop of the admission path: cheapest test first
            if attr not in declared and attr[:1] != "_":
                unknown_attrs.setdefault(op, []).append(attr)
    if unknown_attrs:
        _unknown_attrs(j, {op: sorted(set(attrs)) for op, attrs in sorted(unknown_attrs.items())})

    on_gpu = j.gpu == "required" and j.stack.cuda_build is not False
    if not on_gpu:
        no_cpu = [op for op in ops if release.lacks_cpu_kernel(op)]
        if no_cpu:
            j.add(
                "OP_NO_CPU_KERNEL", "warning",
                f"{j.runtime_label} has no CPU kernel for {listing(no_cpu)}, used by the {j.model_label}; "
                f"GPUs are {'optional' if j.gpu == 'optional' else 'not requested'}, so running these ops on CPU fails",
                ops=no_cpu,
            )
    return bool(missing or unknown_attrs)


# Measured: before 2.5, ValidateNodeDef refuses a NodeDef with an attr the OpDef lacks; from 2.5 it
# logs "... not in the op definition ... Unknown attributes will be ignored" and goes on (the
# message is in 2.5's libtensorflow_framework, not in 2.4's). An importer first drops unknown attrs
# left at their default (RemoveNewDefaultAttrsFromGraphDef, from the producer's stripped_op_list).
IGNORES_UNKNOWN_ATTRS_FROM = (2, 5)


def _unknown_attrs(j: Judgement, unknown: dict[str, list[str]]) -> None:
    m = j.model
    pairs = [(op, attr) for op, attrs in unknown.items() for attr in attrs]
    imports_graph = j.loader == L.SERVING or (m.object_graph is False and (j.loader == L.TF2 or j.loads_with_keras))
    if j.tf_key[:2] >= IGNORES_UNKNOWN_ATTRS_FROM:
        j.add(
            "OP_ATTR_IGNORED", "info",
            f"the {j.model_label}'s NodeDefs set attrs that the OpDefs of {j.runtime_label} lack: {listing(pairs, _first_release_with_attr)}; "
            f"TensorFlow {j.release.series} ignores them (it does from 2.5 on)",
            attrs=unknown,
        )
        return
    # What refuses an attr depends on where the loader reads the nodes: a graph import drops attrs left
    # at their defaults first; a function's nodes are checked as they are (measured, matrix:
    # module_new_attr on 1.15-2.2), and an object-graph load never imports the main graph's.
    if imports_graph:
        refusing = m.main_graph_non_default_attrs
        setters = f"graph nodes of the {j.model_label} set attrs that the OpDefs of {j.runtime_label} lack, to values other than their defaults"
        refuser = "before 2.5 TensorFlow's graph import refuses them"
        spared = "left at their defaults: the graph import drops them"
    else:
        refusing = m.function_new_attrs
        setters = f"nodes inside the {j.model_label}'s functions set attrs that the OpDefs of {j.runtime_label} lack"
        refuser = "before 2.5 TensorFlow refuses them when it instantiates the function"
        spared = f"set by main-graph nodes only: {j.loader_call} restores the object graph and never imports them"
    if refusing is not None:
        refused = {op: [a for a in attrs if a in refusing.get(op, ())] for op, attrs in unknown.items()}
        refused = {op: attrs for op, attrs in refused.items() if attrs}
        if refused:
            names = [(op, attr) for op, attrs in refused.items() for attr in attrs]
            j.add(
                "OP_ATTR_NOT_IN_OPDEF", "error",
                f"{setters}: {listing(names, _first_release_with_attr)}; {refuser} (NodeDef mentions attr not in Op)",
                attrs=refused,
            )
            return
        j.add(
            "OP_ATTR_IGNORED", "info",
            f"the {j.model_label}'s NodeDefs set attrs that the OpDefs of {j.runtime_label} lack "
            f"({listing(pairs, _first_release_with_attr)}), {spared}",
            attrs=unknown,
        )
        return
    j.add(
        "OP_ATTR_NOT_IN_OPDEF_UNCHECKED", "warning",
        f"the {j.model_label}'s NodeDefs set attrs that the OpDefs of {j.runtime_label} lack: {listing(pairs, _first_release_with_attr)}; "
        f"TensorFlow before 2.5 refuses such a node unless the attr is at its default, which tfguard could not "
        "tell here (re-run tfguard inspect to record it)" if imports_graph else
        f"the {j.model_label}'s functions set attrs that the OpDefs of {j.runtime_label} lack: {listing(pairs, _first_release_with_attr)}; "
        "TensorFlow before 2.5 may refuse them when it instantiates the functions",
        attrs=unknown,
    )


def _ops_newer_than_unmeasured_runtime(j: Judgement, ops: list[str]) -> bool:
    """For a runtime older than every measured release: ops first seen after the oldest measured
    release certainly did not exist in it. True if it found some (and reported them)."""
    measured = releases.measured_releases()
    if not measured or j.tf_key[:2] >= version_key(measured[0].series)[:2]:
        return False
    oldest = measured[0].series
    later = []
    for op in ops:
        first = releases.first_release_with_op(op)
        if first and version_key(first)[:2] > version_key(oldest)[:2]:
            later.append(op)
    if later:
        j.add(
            "OP_NOT_REGISTERED", "error",
            f"the {j.model_label} uses {len(later)} op{'s' if len(later) > 1 else ''} that appeared after "
            f"TensorFlow {j.tf} of {j.runtime_label}: {listing(later, first_release)}",
            ops=later,
            first_release={op: releases.first_release_with_op(op) for op in later},
        )
    return bool(later)
