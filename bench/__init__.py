"""Benchmarks: `python -m bench [NAME ...]` runs bench/<NAME>_bench.py (all of them by default)."""
