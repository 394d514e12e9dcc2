"""A TensorFlow build outside the release knowledge (a nightly, a source build of a newer series):
the failures its measured predecessors agree on.

Such a build is judged against the newest measured releases of its major before it. A failure
every one of them shows, on a model no newer than they are, is one the build inherits: what fails
there is not a fact the build's newer release number can change (Keras 3 refusing a Keras 2
file, a custom-op library the image lacks, an optimizer tf.saved_model.load cannot revive).
Measured: on the matrix's tf-nightly 2.23.0-dev, every failure the three releases before it
agree on fails there too. A model from a release none of them is as new as is left to the
RELEASE_UNKNOWN warning: an op or field it needs may be exactly what the build added. So are the
findings judged from a Keras release's facts when the image's Keras is not measured either: the
predecessors judge with their own Keras, and a newer Keras changes what it reads (measured: the
nightly's Keras 3.16.0-dev compiles the Keras 2 training configs Keras 3.15 refuses).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Callable, Optional

    from tfguard.compat.facts import StackFacts, Verdict

from tfguard.compat import releases
from tfguard.compat.judgement import Judgement, version_key
from tfguard.compat.rules.keras_config import FROM_KERAS_FACTS
from tfguard.compat.releases import Release
from tfguard.records import replace

PREDECESSORS = 3  # measured releases a failure must hold on


def predecessors(j: Judgement) -> list[Release]:
    """The newest measured releases of the runtime's major before its series, oldest first; empty
    when the runtime is a known release or there are fewer than PREDECESSORS of them."""
    if j.release is not None or j.tf_key is None:
        return []
    before = [r for r in releases.measured_releases()
              if _series(r)[0] == j.tf_key[0] and _series(r) < j.tf_key[:2]]
    return before[-PREDECESSORS:] if len(before) >= PREDECESSORS else []


def as_release(stack: StackFacts, release: Release) -> StackFacts:
    """The image's stack with `release` as its TensorFlow (everything else as the image has it)."""
    return replace(stack, tensorflow_version=release.wheel_version or f"{release.series}.0",
                   tensorflow_git_version=None)


def inherited_failures(j: Judgement, judge: Callable[[StackFacts], Verdict]) -> None:
    """Add the errors every predecessor's verdict (`judge` of the stack as that release) agrees on."""
    before = predecessors(j)
    if not before or not j.has_model_facts:
        return
    if not _no_newer_than(j, before[-1]):
        return
    agreed: Optional[dict] = None
    for release in before:
        errors = {f.code: f for f in judge(as_release(j.stack, release)).findings if f.severity == "error"}
        agreed = errors if agreed is None else {code: errors[code] for code in agreed if code in errors}
        if not agreed:
            return
    span = f"{before[0].series}-{before[-1].series}"
    newest = as_release(j.stack, before[-1]).tensorflow_version
    found = {f.code for f in j.findings}
    if not _keras_measured(j):
        found |= FROM_KERAS_FACTS
    for code, finding in agreed.items():
        if code in found:
            continue
        j.add(
            code, "error",
            f"{finding.message.replace(f'TensorFlow {newest}', f'TensorFlow {j.tf}')} (as on every measured release "
            f"{span} before it; tfguard has not measured TensorFlow {j.tf} itself)",
            fix=finding.fix, measured_on=[r.series for r in before], **finding.details,
        )


def _no_newer_than(j: Judgement, newest: Release) -> bool:
    """Whether the model was written by a release no newer than `newest` (by its TensorFlow, else by
    its Keras); False when neither is known."""
    m = j.model
    produced = version_key(m.tensorflow_version)
    if produced is not None:
        return produced[:2] <= _series(newest)
    written = version_key(m.keras_version)
    keras = version_key(newest.keras_version or newest.tf_keras_version)
    return written is not None and keras is not None and written[:2] <= keras[:2]


def _keras_measured(j: Judgement) -> bool:
    """Whether the image's own Keras package is a measured Keras minor (the predecessors then judge with it)."""
    found = releases.keras_release("keras", j.stack.keras_version) if j.stack.keras_version else None
    return found is not None and found.measured


def _series(release: Release) -> tuple[int, int]:
    return version_key(release.series)[:2]
