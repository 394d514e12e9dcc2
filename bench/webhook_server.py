"""`tfguard webhook serve` for the bench, reporting on exit whether TensorFlow was ever imported."""

import json
import os
import signal
import sys

from tfguard.cli import main


def report(*_):
    with open(os.environ["TFGUARD_BENCH_MODULES_REPORT"], "w") as f:
        json.dump({"tensorflow_imported": "tensorflow" in sys.modules, "modules": len(sys.modules)}, f)
    sys.exit(0)


if __name__ == "__main__":
    # uvicorn restores this handler after its graceful shutdown and raises SIGTERM again.
    signal.signal(signal.SIGTERM, report)
    main(["webhook", "serve", *sys.argv[1:]])
    report()
