"""The repository's own test and demo harness: not part of the shipped `tfguard` package.

It owns the local Kubernetes control plane (`controlplane`), the throwaway TensorFlow venvs
(`tfenvs`), the real models saved with them (`models`), the cross-loads (`crossload`: the 40 fixture cases;
`matrix`: the wide cross-load matrix behind tests/data/matrix/), the example
gallery and `make demo`. It may import `tfguard`; nothing in `tfguard` imports it. Run its modules
from the repository root (`python -m harness.demo`), as the Makefile does.
"""
