"""The in-pod probe (`probe.py`): copied into the serving image and run there with its own Python.
It must stay one stdlib-only file that imports nothing of tfguard (CPython 3.6+)."""
