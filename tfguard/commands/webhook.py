"""`tfguard webhook serve`: the admission webhook (HTTPS only)."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    parser = subparsers.add_parser("webhook", help="run the admission webhook")
    sub = parser.add_subparsers(dest="webhook_command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="serve /validate, /mutate, /healthz, /readyz, /metrics over HTTPS",
        description="Every flag can also be given as TFGUARD_WEBHOOK_<NAME> in the environment "
        "(e.g. TFGUARD_WEBHOOK_DEFAULT_MODE=enforce); flags win.",
    )
    serve.add_argument("--cert", dest="cert_file", metavar="FILE", help="TLS certificate (PEM); reloaded when it changes")
    serve.add_argument("--key", dest="key_file", metavar="FILE", help="TLS private key (PEM); reloaded when it changes")
    serve.add_argument("--host", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8443)")
    serve.add_argument("--kubeconfig", help="cluster access for the caches (default: in-cluster, else $KUBECONFIG)")
    serve.add_argument("--no-watch", dest="watch", action="store_const", const=False,
                       help="keep no ImageStack/ModelProfile caches (judge from annotations and the catalog)")
    serve.add_argument("--default-mode", choices=("audit", "warn", "enforce"),
                       help="mode for requests to a bare /validate or /mutate (default warn)")
    serve.add_argument("--probe-image", help="image of the init container that copies the probe into the Pod")
    serve.add_argument("--namespace", help="tfguard's own namespace, never checked (default $POD_NAMESPACE or tfguard)")
    serve.add_argument("--admission-timeout", type=float, metavar="SECONDS",
                       help="admit with a warning past this (default 2)")
    serve.add_argument("--max-body-bytes", type=int, help="larger requests get 413 (default 4 MiB)")
    serve.add_argument("--verdict-cache-size", type=int, metavar="N",
                       help="verdicts remembered by what they depend on (default 4096; 0 turns it off)")
    serve.add_argument("--log-level", help="debug, info, warning, error (default info)")
    serve.set_defaults(func=run_serve)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def run_serve(args: argparse.Namespace) -> int:
    import sys

    from tfguard.webhook.serve import serve
    from tfguard.webhook.settings import Settings

    overrides = {
        name: getattr(args, name, None)
        for name in ("cert_file", "key_file", "host", "port", "kubeconfig", "watch", "default_mode",
                     "probe_image", "namespace", "admission_timeout", "max_body_bytes", "verdict_cache_size",
                     "log_level")
    }
    try:
        settings = Settings.from_env(**overrides)
        if not settings.cert_file or not settings.key_file:
            raise ValueError("the webhook serves HTTPS only: give --cert and --key")
        for path in (settings.cert_file, settings.key_file):
            open(path, "rb").close()
    except (ValueError, OSError) as exc:
        print(f"tfguard webhook serve: {exc}", file=sys.stderr)
        return 2
    return serve(settings)
