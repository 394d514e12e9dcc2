"""The TensorFlow stacks of the matrix: each release, and the same release with an extra package.

    Stack("2.20.0")             tensorflow-cpu 2.20.0 as pip resolves it (harness.tfenvs.tf_python)
    Stack("2.20.0", "tf_keras")  the same, plus tf-keras 2.20 installed --no-deps (legacy Keras 2)
    Stack("2.20.0", "text")      the same, plus tensorflow-text 2.20 installed --no-deps
    Stack(NIGHTLY)              a tf-nightly wheel: a producer whose version is not a release

A stack is a producer (it makes artifacts) and a runtime (it loads them). Its id ("2.20.0",
"2.20.0+tf_keras") names it in the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness import tfenvs

# The last patch of every minor release from 1.15 on.
RELEASES = (
    "1.15.5", "2.0.4", "2.1.4", "2.2.3", "2.3.4", "2.4.4", "2.5.3", "2.6.5", "2.7.4", "2.8.4", "2.9.3",
    "2.10.1", "2.11.1", "2.12.1", "2.13.1", "2.14.1", "2.15.1", "2.16.2", "2.17.1", "2.18.1", "2.19.1",
    "2.20.0", "2.21.0",
)
# A nightly wheel for CPython 3.11, pinned so the stack does not move under the cache.
NIGHTLY = "2.23.0.dev20261026"
NIGHTLY_REQUIREMENT = f"tf-nightly=={NIGHTLY}"

# The tf-keras release that goes with each TF release that has one (2.16 on: Keras 3 is tf.keras).
TF_KERAS = {"2.16": "2.16.0", "2.17": "2.17.0", "2.18": "2.18.0", "2.19": "2.19.0", "2.20": "2.20.1", "2.21": "2.21.0"}
# tensorflow-text wheels: none was published for 2.13, and none before 2.12 for these interpreters.
TEXT = {"2.12": "2.12.1", "2.14": "2.14.0", "2.15": "2.15.0", "2.16": "2.16.1", "2.17": "2.17.0",
        "2.18": "2.18.1", "2.19": "2.19.0", "2.20": "2.20.1", "2.21": "2.21.1"}
# tensorflow-decision-forests wheels built for each release (its oplibs measurements: 1.11 and 1.12
# do not import beside the protobuf their TF pins), with what it imports that a TF venv lacks.
TFDF = {"2.10": "1.0.1", "2.12": "1.3.0", "2.13": "1.5.0", "2.15": "1.8.1", "2.16": "1.9.2", "2.17": "1.10.0"}
TFDF_IMPORTS = ["pandas<2.2", "python-dateutil", "pytz", "tzdata", "wurlitzer"]
YDF = "ydf==0.7.0"  # the yggdrasil_decision_forests module TF-DF 1.9 and 1.10 import (0.6-0.8 import)
EXTRAS = ("tf_keras", "text", "tfdf")


def series(version: str) -> str:
    return ".".join(version.split(".")[:2])


def release_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:2])


@dataclass(frozen=True, order=True)
class Stack:
    tf: str  # a release from RELEASES, or NIGHTLY
    extra: str = ""  # "" | "tf_keras" | "text" | "tfdf"

    @property
    def id(self) -> str:
        name = f"nightly-{self.tf}" if self.tf == NIGHTLY else self.tf
        return f"{name}+{self.extra}" if self.extra else name

    @property
    def is_nightly(self) -> bool:
        return self.tf == NIGHTLY

    @property
    def extra_requirements(self) -> list[str]:
        """What goes in --no-deps over the base venv (tensorflow-text up to 2.15 imports tensorflow_hub;
        hub 0.15 is the last that does not want tf-keras, and it imports pkg_resources, which
        setuptools 81 dropped)."""
        if self.is_nightly:
            return []
        if self.extra == "tf_keras":
            return [f"tf-keras=={TF_KERAS[series(self.tf)]}"]
        if self.extra == "text":
            hub = ["tensorflow-hub==0.15.0", "setuptools<81"] if release_key(self.tf) <= (2, 15) else []
            return [f"tensorflow-text=={TEXT[series(self.tf)]}", *hub]
        if self.extra == "tfdf":  # from 1.9 on TF-DF builds its models with tf-keras and ydf's library
            later = [f"tf-keras=={TF_KERAS[series(self.tf)]}", YDF] if series(self.tf) in TF_KERAS else []
            return [f"tensorflow-decision-forests=={TFDF[series(self.tf)]}", *TFDF_IMPORTS, *later]
        return []

    def exists(self) -> bool:
        """Whether the registry has what this stack needs (its extra's wheel for its release)."""
        if self.is_nightly:
            return self.extra == ""
        table = {"tf_keras": TF_KERAS, "text": TEXT, "tfdf": TFDF}.get(self.extra)
        return table is None or series(self.tf) in table

    def python(self) -> Path:
        """bin/python of this stack's venv (built on first use; raises if it cannot be built)."""
        if self.is_nightly:
            return tfenvs.venv(f"tf-nightly-{self.tf}", [NIGHTLY_REQUIREMENT])
        if not self.extra:
            return tfenvs.tf_python(self.tf)
        if self.extra == "tf_keras":  # the same venv harness.tfenvs gives everyone for this tf-keras
            return tfenvs.keras_python("tf-keras", TF_KERAS[series(self.tf)])
        recipe = tfenvs.tf_recipe(self.tf)  # the base venv's pins, so the two differ by one package
        return tfenvs.venv(f"{recipe['name']}-{self.extra}", recipe["requirements"], python=recipe["python"],
                           overrides=self.extra_requirements)

    @classmethod
    def parse(cls, text: str) -> "Stack":
        name, _, extra = text.partition("+")
        tf = name[len("nightly-"):] if name.startswith("nightly-") else name
        return cls(tf, extra)


def base_stacks(releases: tuple[str, ...] = RELEASES, nightly: bool = True) -> list[Stack]:
    return [Stack(v) for v in releases] + ([Stack(NIGHTLY)] if nightly else [])


def extra_stacks(releases: tuple[str, ...] = RELEASES) -> list[Stack]:
    return [s for v in releases for s in (Stack(v, e) for e in EXTRAS) if s.exists()]
