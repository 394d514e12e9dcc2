"""The compatibility engine: model facts + image stack facts + loader -> verdict.

Owns the facts types (`facts`), model inspection without TensorFlow (`inspect`), the release
knowledge measured from real wheels (`releases`, `data/`), the catalog of well-known images
(`catalog`), the loaders (`loaders`), the finding-code registry (`codes`), the probe report parser
(`probe_report`), the tfguard.io resources' shapes (`resources`) and the verdict (`verdict`, `rules`).
Pure and free of I/O except reading its own data files and the model being inspected. May import
`tfguard.errors` and the standard library; nothing of workload, kube, webhook or operator.
"""

from tfguard.compat.facts import Finding, ModelFacts, StackFacts, Verdict

__all__ = ["Finding", "ModelFacts", "StackFacts", "Verdict"]
