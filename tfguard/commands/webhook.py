"""`tfguard webhook serve`: the admission webhook (HTTPS only)."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    from tfguard.settings import add_arguments
    from tfguard.webhook.settings import WebhookSettings

    parser = subparsers.add_parser("webhook", help="run the admission webhook")
    sub = parser.add_subparsers(dest="webhook_command", metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="serve /validate, /mutate, /healthz, /readyz, /metrics over HTTPS",
        description="Every flag can also be given in the environment (the variable is named in its help); "
        "flags win. docs/settings.md lists them all.",
    )
    add_arguments(serve, WebhookSettings)
    serve.set_defaults(func=run_serve)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def run_serve(args: argparse.Namespace) -> int:
    import os
    import sys

    from tfguard.errors import ConfigError
    from tfguard.settings import from_sources
    from tfguard.webhook.serve import serve
    from tfguard.webhook.settings import WebhookSettings

    try:
        settings = from_sources(WebhookSettings, args, os.environ)
        if not settings.cert_file or not settings.key_file:
            raise ConfigError("the webhook serves HTTPS only: give --cert and --key")
        for path in (settings.cert_file, settings.key_file):
            open(path, "rb").close()
    except (ConfigError, OSError) as exc:
        print(f"tfguard webhook serve: {exc}", file=sys.stderr)
        return 2
    return serve(settings)
