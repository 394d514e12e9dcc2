"""Runs INSIDE a TensorFlow venv (CPython 3.7 and later): makes artifacts and loads them, one job
at a time, each in a child forked after `import tensorflow`.

    python worker.py [--preload keras,tf_keras] [--fresh]

Reads one JSON job a line on stdin and writes one JSON result a line on the stdout it started
with (TensorFlow's own prints go to stderr). A job is {"id", "op": "make" | "load", ...}; see
makers.make and loaders.load for the rest. The first line out is {"ready": ...} with the stack's
versions.

Each job runs in a child forked from this process after the imports, so every job starts from
the same state, a crash (a signal, an abort in C++) or a hang kills only the child, and the
import is paid once per stack, not once per job. The child's stderr goes to a temporary file
whose tail is kept with the result. `--fresh` runs exactly one job in this process instead (the
fidelity check compares the two). A child that holds more than --max-rss-mb is killed.
"""

import json
import os
import select
import signal
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["CUDA_VISIBLE_DEVICES"] = ""


def _stack_facts(preloaded):
    import tensorflow as tf

    facts = {
        "python": "%d.%d.%d" % sys.version_info[:3],
        "tf_version": tf.version.VERSION if hasattr(tf, "version") else tf.__version__,
        "tf_git_version": getattr(getattr(tf, "version", None), "GIT_VERSION", None),
        "preloaded": preloaded,
    }
    try:
        from importlib import metadata
    except ImportError:  # 3.7
        metadata = None
    versions = {}
    # tf-nightly (and TF 2.5) install Keras as keras-nightly: read as `keras`, as the probe does
    for dist in ("keras", "keras-nightly", "tf-keras", "tensorflow-text", "tensorflow-decision-forests", "numpy",
                 "protobuf", "h5py"):
        if dist == "keras-nightly" and "keras" in versions:
            continue
        try:
            if metadata is not None:
                version = metadata.version(dist)
            else:
                import pkg_resources

                version = pkg_resources.get_distribution(dist).version
            versions["keras" if dist == "keras-nightly" else dist] = version
        except Exception:
            pass
    facts["packages"] = versions
    return facts


def _error_result(exc, phase):
    if getattr(exc, "phase", None) == "call" and exc.__cause__ is not None:
        exc = exc.__cause__  # the loaded model failed when called: report what it raised
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "ok": False,
        "phase": phase,
        "exception": type(exc).__name__,
        "exception_module": type(exc).__module__,
        "message": str(exc)[:20000],
        "frames": ["%s:%s" % (f[0], f[2]) for f in frames[-12:]],
    }


def dispatch(job):
    if job["op"] == "selftest":  # what the isolation tests ask for: a crash, a hang, a hog
        if job["what"] == "abort":
            os.abort()
        if job["what"] == "hang":
            time.sleep(3600)
        if job["what"] == "hog":
            hog = []
            for _ in range(4096):  # up to 4 GiB, 1 MiB at a time, each page touched
                hog.append(b"x" * (1 << 20))
                time.sleep(0.002)
            return {"ok": True, "held": len(hog)}
        return {"ok": True}
    if job["op"] == "make":
        import makers

        return makers.make(job)
    import loaders

    return loaders.load(job)


def run_inline(job):
    try:
        return dispatch(job)
    except BaseException as exc:  # a failed job is a result, whatever it raised
        return _error_result(exc, getattr(exc, "phase", "load"))


def _tail(handle, limit=4000):
    try:
        handle.flush()
        size = handle.seek(0, 2)
        handle.seek(max(0, size - limit))
        return handle.read().decode("utf-8", "replace")
    except Exception:
        return ""


def _rss_mb(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // (1 << 20)
    except (OSError, ValueError, IndexError):
        return 0


def run_forked(job, timeout, max_rss_mb):
    read_end, write_end = os.pipe()
    errors = tempfile.TemporaryFile()
    started = time.time()
    pid = os.fork()
    if pid == 0:  # the child: run the job, send the result, leave without cleanup
        try:
            os.close(read_end)
            os.dup2(errors.fileno(), 1)
            os.dup2(errors.fileno(), 2)
            result = run_inline(job)
            data = json.dumps(result).encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
        finally:
            os._exit(0)
    os.close(write_end)
    chunks, killed, peak = [], None, 0
    deadline = started + timeout
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            killed = "timeout"
            break
        ready, _, _ = select.select([read_end], [], [], min(0.5, remaining))
        if ready:
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        peak = max(peak, _rss_mb(pid))
        if peak > max_rss_mb:
            killed = "memory"
            break
    if killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    _, status = os.waitpid(pid, 0)
    os.close(read_end)
    elapsed = time.time() - started
    stderr_tail = _tail(errors)
    errors.close()
    if killed == "timeout":
        return {"ok": False, "kind": "timeout", "message": "no result after %ds" % timeout, "stderr": stderr_tail}
    if killed == "memory":
        return {"ok": False, "kind": "memory", "message": "the load held more than %d MiB" % max_rss_mb,
                "stderr": stderr_tail}
    try:
        result = json.loads(b"".join(chunks).decode("utf-8"))
    except ValueError:
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            try:
                name = signal.Signals(sig).name
            except ValueError:
                name = str(sig)
            how = "killed by %s" % name
        else:
            how = "exit status %d" % os.WEXITSTATUS(status)
        return {"ok": False, "kind": "crash", "message": "the process died (%s) without a result" % how,
                "stderr": stderr_tail}
    result["seconds"] = round(elapsed, 3)
    result["peak_rss_mb"] = peak
    if not result.get("ok"):
        result["stderr"] = stderr_tail
    return result


def main(argv):
    preload = []
    fresh = "--fresh" in argv
    timeout, max_rss_mb = 300.0, 6000
    for i, arg in enumerate(argv):
        if arg == "--preload":
            preload = [m for m in argv[i + 1].split(",") if m]
        elif arg == "--timeout":
            timeout = float(argv[i + 1])
        elif arg == "--max-rss-mb":
            max_rss_mb = int(argv[i + 1])
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # whatever TF prints goes to stderr, never into the result stream
    import tensorflow as tf  # noqa: F401  (the point of the server: imported once, before the forks)

    for name in preload:
        if name == "keras":
            tf.keras.models  # resolves tf.keras (Keras 2 or 3) the way a loader's first touch does
        else:
            __import__(name)
    out.write(json.dumps({"ready": _stack_facts(preload)}) + "\n")
    out.flush()
    for line in sys.stdin:
        if not line.strip():
            continue
        job = json.loads(line)
        if fresh:
            result = run_inline(job)
        else:
            result = run_forked(job, job.get("timeout", timeout), max_rss_mb)
        result["id"] = job["id"]
        out.write(json.dumps(result) + "\n")
        out.flush()
        if fresh:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
