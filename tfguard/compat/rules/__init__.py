"""The verdict engine's rules, one module per area; `tfguard.compat.verdict.evaluate` runs them.

Each rule is a function of a `Judgement` (the facts of one evaluate() call, resolved once) that adds
findings to it. Rules are pure: release facts come from `tfguard.compat.releases`, the rest from the
facts passed in. A rule that decides `incompatible` must be backed by the measured cross-load matrix
(tests/engine/test_matrix_agreement.py checks the engine against every cell).
"""
