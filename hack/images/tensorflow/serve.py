"""The server of tfguard's local TensorFlow images: load the model the way the examples' servers do,
then answer HTTP on :8501 (GET / describes what was loaded). A model that does not load ends the
process with exit code 1, as a real server's crash would: the Pod goes to CrashLoopBackOff."""

import argparse
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def load(path: str, loader: str):
    import tensorflow as tf

    if loader == "auto":
        keras_dir = os.path.isfile(os.path.join(path, "keras_metadata.pb"))
        loader = "keras" if keras_dir or path.endswith((".keras", ".h5")) else "saved_model"
    if loader == "keras":
        return loader, tf.keras.models.load_model(path)
    return loader, tf.saved_model.load(path)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--loader", default="auto", choices=("auto", "saved_model", "keras"))
    parser.add_argument("--port", type=int, default=8501)
    args = parser.parse_args()
    try:
        loader, model = load(args.model, args.loader)
    except Exception as exc:  # what a real server would log before dying
        print(f"serve.py: cannot load {args.model}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    import tensorflow as tf

    facts = {"model": args.model, "loader": loader, "tensorflow": tf.__version__,
             "signatures": sorted(getattr(model, "signatures", {}) or {})}
    print("serve.py: loaded " + json.dumps(facts), flush=True)
    body = json.dumps(facts).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("0.0.0.0", args.port), Handler).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
