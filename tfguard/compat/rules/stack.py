"""The image's own stack: does TensorFlow import, is its release known and measured."""

from __future__ import annotations

from tfguard.compat import catalog
from tfguard.compat.judgement import Judgement


def import_and_release(j: Judgement) -> None:
    stack = j.stack
    if stack.import_ok is False:
        code = stack.import_error_code or "unknown"
        j.add(
            "STACK_IMPORT_FAILED", "error",
            f"TensorFlow does not import in {j.runtime_label} (probe: {code}): the {j.model_label} cannot load there",
            import_error_code=stack.import_error_code,
        )
    if j.tf_key is None:
        j.unknown = True
        why = "the TensorFlow release of the image is not known"
        if stack.tensorflow_version:
            why = f"{stack.tensorflow_version!r} is not a TensorFlow version"
        elif stack.image and catalog.is_moving_tag(stack.image):
            why = f"the tag of {stack.image} moves (a moving tag is not a fact about what the image holds)"
        elif stack.image:
            why = f"{stack.image} is neither probed, annotated nor in the catalog of well-known images"
        j.add("STACK_UNKNOWN", "info", f"cannot judge the {j.model_label}: {why}", image=stack.image)


def knowledge(j: Judgement) -> None:
    """Say when the release's facts are version-level only (or missing): the verdict is weaker."""
    if j.release is None:
        j.add(
            "RELEASE_UNKNOWN", "warning",
            f"TensorFlow {j.tf} of {j.runtime_label} is not in tfguard's release knowledge: "
            f"judging the {j.model_label} from version numbers and from what the measured releases before it agree on",
            tensorflow_version=j.tf,
        )
    elif not j.release.measured:
        j.add(
            "RELEASE_NOT_MEASURED", "info",
            f"TensorFlow {j.release.series} of {j.runtime_label} predates the releases measured from real wheels: "
            f"judging the {j.model_label} from version-level facts",
            tensorflow_version=j.tf,
        )
