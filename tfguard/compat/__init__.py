"""The compatibility engine: model facts + image stack facts -> verdict."""

from tfguard.compat.facts import Finding, ModelFacts, StackFacts, Verdict

__all__ = ["Finding", "ModelFacts", "StackFacts", "Verdict"]
