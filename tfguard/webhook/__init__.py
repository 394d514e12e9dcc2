"""The admission webhook: /validate and /mutate over HTTPS, answered from memory.

Owns its HTTP serving (`serve`, `app`), the AdmissionReview models (`models`), the decisions
(`validate`, `mutate`), its watches that keep the fact store current (`watch`), its metrics and its
settings. Stands on `tfguard.workload` and `tfguard.compat`; never imports `tfguard.operator`.
"""
