"""Every finding code tfguard emits, with its cause and fix: the one registry.

The probe (which cannot import tfguard) uses the same code strings; a test checks that every
code it can emit is registered here. docs/codes.md is generated from this table
(`python -m tfguard.compat.codes > docs/codes.md`) and a test keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    title: str
    cause: str
    fix: str


_CODES: list[Code] = [
    # Each owner appends its codes to its own section below; codes are never renamed or reused.
    # --- model inspection (tfguard inspect) ---
    # --- verdict engine (model + image stack) ---
    # --- admission webhook ---
    Code(
        "ADMISSION_BAD_ANNOTATION",
        "A tfguard annotation has a value tfguard cannot use",
        "A tfguard.io/ annotation holds something that is not a release number, a known loader, a GPU "
        "choice, a mode, or the name of a container of the pod. The webhook ignores that value.",
        "Correct the annotation; docs/annotations.md lists every annotation and the values it takes.",
    ),
    Code(
        "ADMISSION_UNSAFE_MODEL_PATH",
        "The model path is not a plain absolute path",
        "tfguard.io/model-path is relative, contains '..' or control characters. The probe would not "
        "read it, so the webhook ignores it.",
        "Give the absolute, normalised path of the model inside the serving container (or a gs:// or s3:// URI).",
    ),
    Code(
        "ADMISSION_PROFILE_MISSING",
        "The ModelProfile the object names is not known",
        "tfguard.io/model-profile names a ModelProfile the webhook has not seen in the object's namespace "
        "(not created yet, another namespace, or the webhook's cache is not available). The verdict falls "
        "back to the annotations, which only allow version-order reasoning.",
        "Apply the profile (`tfguard inspect MODEL --profile NAME | kubectl apply -f -`) in the same "
        "namespace before the workload, or fix the name.",
    ),
    Code(
        "ADMISSION_PROFILE_STALE",
        "The ModelProfile disagrees with the object's annotations",
        "The ModelProfile's producer version differs from tfguard.io/model-producer-version, so it most "
        "likely describes another build of the model. The verdict falls back to the annotations.",
        "Regenerate the profile from the model that is deployed, or correct the annotation.",
    ),
    Code(
        "ADMISSION_UNSUPPORTED_OBJECT",
        "The webhook was sent an object it does not check",
        "The webhook checks Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs on "
        "/validate and Pods on /mutate. Anything else is admitted unchecked.",
        "Register the webhook only for the kinds it checks (the Helm chart does).",
    ),
    Code(
        "ADMISSION_INTERNAL_ERROR",
        "The webhook failed or ran out of time and admitted the object unchecked",
        "tfguard fails open: an internal error or a check that overruns the admission time limit admits "
        "the object with this warning rather than blocking the cluster. The webhook's log has the details "
        "under the request uid.",
        "Report the log line; meanwhile run `tfguard check` on the model and image by hand.",
    ),
    # --- operator ---
    Code(
        "OPERATOR_UNREADABLE_PROBE_REPORT",
        "The probe in a Pod left a report tfguard cannot read",
        "The tfguard-probe init container terminated, but its termination message is not a probe report "
        "(empty, cut short, or from a probe of another tfguard version). The operator cannot tell what the "
        "image holds.",
        "Run `kubectl logs POD -c tfguard-probe` for the full report; keep the probe image and tfguard at "
        "the same version.",
    ),
    # --- probe: import, GPU, model load ---
]

CODES: dict[str, Code] = {c.code: c for c in _CODES}


def markdown() -> str:
    lines = [
        "# Finding codes",
        "",
        "Generated from `tfguard/compat/codes.py` (`python -m tfguard.compat.codes > docs/codes.md`).",
        "Codes are stable: they are never renamed or reused.",
        "",
    ]
    for c in _CODES:
        lines += [f"## `{c.code}`: {c.title}", "", f"**Cause.** {c.cause}", "", f"**Fix.** {c.fix}", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")
