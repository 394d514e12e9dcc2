"""tf.saved_model.load revives a TF2 SavedModel object by object (its SavedObjectGraph).

- A SavedObject `kind` the runtime's protos do not know reads there as no kind at all (the
  runtime's schema, measured per release: `Release.proto("SavedObject")`).
- Optimizer slot variables (SavedObject field 3, written by TF 1.15-2.x Keras SavedModels with an
  optimizer) are restored by calling `add_slot` on the revived optimizer. Measured: in 2.6 and from
  2.16 on (where tf.keras is not Keras 2) the optimizer comes back as a generic `_UserObject` and the
  load fails ("'_UserObject' object has no attribute 'add_slot'"); 1.15-2.5 and 2.7-2.15 load.
"""

from __future__ import annotations

from tfguard.compat import loaders as L
from tfguard.compat.judgement import Judgement, listing

SLOT_VARIABLES = 3


def _keras_revives_optimizers(j: Judgement) -> bool:
    series = j.tf_key[:2]
    return series != (2, 6) and series < (2, 16)


def object_graph(j: Judgement) -> None:
    m = j.model
    if m.format != "saved_model" or not m.object_graph or j.loader != L.TF2 or not j.measured:
        return
    if SLOT_VARIABLES in m.saved_object_fields and not _keras_revives_optimizers(j):
        j.add(
            "OPTIMIZER_SLOTS_NOT_REVIVED", "error",
            f"the {j.model_label} saved optimizer slot variables; tf.saved_model.load in {j.runtime_label} revives "
            "the optimizer as a plain object that cannot take them back (\"'_UserObject' object has no attribute "
            "'add_slot'\")",
        )
    schema = j.release.proto("SavedObject")
    if schema is None:
        return
    known = set(schema.by_number)
    unknown = [n for n in m.saved_object_fields if n not in known]
    if not unknown:
        return
    from tfguard.compat import releases

    newest = releases.measured_releases()[-1].proto("SavedObject")
    kinds = set(newest.oneof_fields("kind")) if newest is not None else set()
    names = {n: (newest.by_number[n].name if newest is not None and n in newest.by_number else f"field {n}") for n in unknown}
    unknown_kinds = [names[n] for n in unknown if names[n] in kinds]
    if unknown_kinds:
        j.add(
            "SAVED_OBJECT_KIND_UNKNOWN", "warning",
            f"the {j.model_label}'s object graph holds objects of kind {listing(unknown_kinds)}, which the protos of "
            f"{j.runtime_label} do not know: such an object reads there as having no kind, and reviving it fails "
            "unless nothing uses it",
            kinds=unknown_kinds,
        )
