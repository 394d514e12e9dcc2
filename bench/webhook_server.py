"""`tfguard webhook serve` for the bench, reporting on exit whether TensorFlow was ever imported.

TFGUARD_BENCH_NO_METRICS=1 turns the admission's metrics recording into a no-op (the bench's
measure of what prometheus_client costs the whole server)."""

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
    if os.environ.get("TFGUARD_BENCH_NO_METRICS"):
        # The bench's "no metrics" arm: what recording the admission costs the whole server.
        from tfguard.webhook.metrics import Metrics

        Metrics.observe = lambda self, *args: None
    # uvicorn restores this handler after its graceful shutdown and raises SIGTERM again.
    signal.signal(signal.SIGTERM, report)
    main(["webhook", "serve", *sys.argv[1:]])
    report()
