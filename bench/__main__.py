"""Run the benchmarks: every bench/*_bench.py exposes main(); `python -m bench webhook` runs one."""

import importlib
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem[: -len("_bench")] for p in Path(__file__).parent.glob("*_bench.py"))
    failed = []
    for name in names:
        print(f"=== {name} ===", flush=True)
        try:
            if importlib.import_module(f"bench.{name}_bench").main():
                failed.append(name)
        except Exception as exc:  # one broken bench does not hide the others' figures
            print(f"{name}: FAILED: {exc!r}", flush=True)
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
