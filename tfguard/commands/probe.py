"""`tfguard probe`: run the in-pod probe (tfguard/probes/probe.py) here, with any Python.

    tfguard probe --model models/resnet/1                       # with this Python's TensorFlow
    tfguard probe --python /opt/venv/bin/python --model m.keras --json

The probe file is the one the init container runs; this only starts it as a subprocess with the
same options (and exits with its status: 0 pass or warn mode, 1 a check failed, 2 usage).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tfguard.probes import probe as probe_script

PROBE_FILE = Path(probe_script.__file__).resolve()


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="check that a Python stack imports TensorFlow, sees its GPUs and loads a model",
        description="Run tfguard's in-pod probe: import TensorFlow in a crash-safe child process, collect "
        "the stack facts, check the GPU and really load the model.",
    )
    parser.add_argument(
        "--python", metavar="PATH", default=sys.executable,
        help="the Python interpreter whose stack is probed (default: this one)",
    )
    probe_script.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args) -> int:
    command = [args.python, str(PROBE_FILE), *probe_script.argv_from(args)]
    try:
        return subprocess.run(command).returncode
    except OSError as exc:
        print(f"tfguard probe: cannot run {args.python}: {exc}", file=sys.stderr)
        return 2
