"""`tfguard operator run`: the operator (probe results -> facts, workload annotations and Events,
webhook certificates)."""

from __future__ import annotations

import argparse
import asyncio
import logging


def register(subparsers) -> None:
    from tfguard.operator.settings import OperatorSettings
    from tfguard.settings import add_arguments

    parser = subparsers.add_parser("operator", help="run the tfguard operator")
    sub = parser.add_subparsers(dest="operator_command", metavar="COMMAND")
    run = sub.add_parser(
        "run", help="run the operator until stopped (SIGTERM/SIGINT)",
        description="Every flag can also be given in the environment (the variable is named in its help); "
        "flags win. docs/settings.md lists them all.",
    )
    add_arguments(run, OperatorSettings, group_by={
        "recheck_": "background re-check",
        "manage_certificates": "webhook certificates", "webhook_": "webhook certificates", "cert_": "webhook certificates",
        "extra_dns": "webhook certificates", "ip_addresses": "webhook certificates", "ca_": "webhook certificates",
        "renew_": "webhook certificates", "bundle_": "webhook certificates",
        "standalone": "leader election", "lease_": "leader election",
    })
    run.set_defaults(func=run_command)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def run_command(args: argparse.Namespace) -> int:
    import os
    import sys

    from tfguard.errors import ConfigError
    from tfguard.kube import load_config
    from tfguard.operator.main import run
    from tfguard.operator.settings import OperatorSettings
    from tfguard.settings import from_sources

    try:
        settings = from_sources(OperatorSettings, args, os.environ)
        load_config(settings.kubeconfig)  # a missing or broken kubeconfig is a usage error, said once
    except ConfigError as exc:
        print(f"tfguard operator run: no usable cluster configuration: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("kopf").setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        return asyncio.run(run(settings))
    except KeyboardInterrupt:
        return 0
