"""Every annotation, label and injected name tfguard reads or writes on Kubernetes objects.

docs/annotations.md documents them for users; nothing else spells these strings.
"""

PREFIX = "tfguard.io/"

# --- Set by users on a pod controller (Deployment, StatefulSet, ...) or its pod template ---
MODEL_PRODUCER_VERSION = PREFIX + "model-producer-version"  # TF release that saved the model
MODEL_PATH = PREFIX + "model-path"  # path of the model inside the serving container
MODEL_LOADER = PREFIX + "model-loader"  # auto or a loader of tfguard.compat.loaders (saved_model: old name of tf2)
MODEL_PROFILE = PREFIX + "model-profile"  # name of a ModelProfile in the same namespace
# Python modules the server imports before it loads the model, comma-separated ("" for none): a
# custom-op library, the package of custom Keras classes. Absent: not known.
MODEL_IMPORTS = PREFIX + "model-imports"
CONTAINER = PREFIX + "container"  # the serving container, when the pod has several
IMAGE_TENSORFLOW_VERSION = PREFIX + "tensorflow-version"  # declared TF release of the image
IMAGE_KERAS_VERSION = PREFIX + "keras-version"  # declared Keras release of the image
GPU = PREFIX + "gpu"  # required | optional | none (default: required if the container asks for GPUs)
MODE = PREFIX + "mode"  # enforce | warn | audit; on an object it may only make the mode stricter
INJECT = PREFIX + "inject"  # "false" opts a Pod out of probe injection

# --- Namespace label ---
MODE_LABEL = PREFIX + "mode"
MODES = ("audit", "warn", "enforce")  # the values of tfguard.io/mode, least to most strict

# --- Written by the operator on pod controllers ---
VERDICT = PREFIX + "verdict"
REASON = PREFIX + "reason"
IMAGE_STACK = PREFIX + "image-stack"
CHECKED_AT = PREFIX + "checked-at"
# The ModelProfile the operator created (or found) from the probe report of the object's Pods;
# the webhook falls back to it when the object names no profile of its own.
OBSERVED_MODEL_PROFILE = PREFIX + "observed-model-profile"

# --- Written by the webhook on Pods it judged it could not inject safely ---
PROBE_SKIPPED = PREFIX + "probe-skipped"  # why the probe was not injected (the Pod is left as it was)

# --- Label on the ImageStacks the operator learned from a probe: the namespace the Pod ran in ---
OBSERVED_IN_LABEL = PREFIX + "observed-in"

# --- Label on the objects the operator owns (ModelProfiles it derived from probe reports) ---
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_OPERATOR = "tfguard-operator"

# --- Probe injection ---
PROBE_VOLUME = "tfguard-probe"
PROBE_MOUNT_PATH = "/tfguard"
PROBE_INSTALL_CONTAINER = "tfguard-probe-install"  # from the probe image: copies probe.py
PROBE_CONTAINER = "tfguard-probe"  # runs probe.py with the serving container's own image

# Annotations whose presence makes an object a tfguard object.
USER_ANNOTATIONS = (
    MODEL_PRODUCER_VERSION,
    MODEL_PATH,
    MODEL_LOADER,
    MODEL_PROFILE,
    MODEL_IMPORTS,
    CONTAINER,
    IMAGE_TENSORFLOW_VERSION,
    IMAGE_KERAS_VERSION,
    GPU,
    MODE,
)

# Every tfguard.io/ annotation tfguard reads or writes; any other key under the prefix is a typo.
KNOWN_ANNOTATIONS = frozenset(USER_ANNOTATIONS + (INJECT, VERDICT, REASON, IMAGE_STACK, CHECKED_AT,
                                                   OBSERVED_MODEL_PROFILE, PROBE_SKIPPED))
