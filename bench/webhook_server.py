"""`tfguard webhook serve` for the bench, reporting on exit whether TensorFlow was ever imported."""

import json
import os
import sys

from tfguard.cli import main

if __name__ == "__main__":
    code = main(["webhook", "serve", *sys.argv[1:]])
    with open(os.environ["TFGUARD_BENCH_MODULES_REPORT"], "w") as f:
        json.dump({"tensorflow_imported": "tensorflow" in sys.modules, "modules": len(sys.modules)}, f)
    sys.exit(code)
