"""A stand-in `tensorflow` that fails in the ways real stacks fail, on demand (FAKE_TF_MODE).

Only for the probe's crash/hang/classification paths that no real stack produces reliably
(SIGILL, an abort, a segfault or hang while loading); the real stacks are in test_broken_stacks.py.
"""

import os
import signal
import time
import types

MODE = os.environ.get("FAKE_TF_MODE", "")

if MODE == "import_sigill":
    os.kill(os.getpid(), signal.SIGILL)
if MODE == "import_abort":
    os.abort()
if MODE == "import_hang":
    time.sleep(3600)
if MODE == "import_exit":
    os._exit(3)
if MODE == "protobuf":
    raise TypeError("Descriptors cannot be created directly.\nIf this call came from a _pb2.py file, "
                    "your generated code is out of date and must be regenerated with protoc >= 3.19.0.")
if MODE == "undefined_symbol":
    raise ImportError("/site-packages/tensorflow/python/_pywrap_tensorflow_internal.so: undefined symbol: "
                      "_ZN10tensorflow8OpKernel11TraceStringEv")
if MODE == "numpy_message":
    raise ImportError("\nA module that was compiled using NumPy 1.x cannot be run in\nNumPy 2.1.3 as it may crash."
                      "\nnumpy.core.multiarray failed to import")
if MODE == "inner_module":
    raise ModuleNotFoundError("No module named 'tensorflow.python.platform'", name="tensorflow.python.platform")

__version__ = "9.9.9"
version = types.SimpleNamespace(GIT_VERSION="v9.9.9-fake", VERSION=__version__)
sysconfig = types.SimpleNamespace(
    get_build_info=lambda: {"is_cuda_build": MODE == "gpus", "cuda_version": "12.3" if MODE == "gpus" else None})


class _Device:
    name = "/physical_device:GPU:0"


def _list_physical_devices(kind):
    if MODE == "gpu_hang":
        time.sleep(3600)
    return [_Device()] if MODE == "gpus" else []


keras = types.ModuleType("keras.api._v2.keras")
config = types.SimpleNamespace(list_physical_devices=_list_physical_devices)


def _load(path):
    if MODE == "load_segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    if MODE == "load_hang":
        time.sleep(3600)
    if MODE == "load_error":
        raise ValueError("Something nobody classified went wrong")
    return types.SimpleNamespace(signatures={})


saved_model = types.SimpleNamespace(load=_load)
