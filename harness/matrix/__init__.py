"""The cross-load matrix: a corpus of real artifacts saved by every TensorFlow release, each loaded
by every release with every loader, kept as data (tests/data/matrix/, summarised in
docs/crossload.md). `tools/crossload_matrix.py` drives it; see docs/crossload.md for the layout.

- recipes: what the corpus holds; stacks: the TF stacks (producers and runtimes)
- inside/: what runs inside a TF venv (the fork server, the makers, the loaders)
- worker: the host side of the fork server; run: making and loading, cached and resumable
- hostile: broken artifacts cut from real ones; errors: the stable list of error kinds
- store: the cache layout; data: the committed data, the model facts and the summary doc
"""
