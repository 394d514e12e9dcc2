"""`tfguard operator run`: the operator (probe results -> facts, workload annotations and Events,
webhook certificates)."""

from __future__ import annotations

import argparse
import asyncio
import logging

from tfguard.operator.settings import OperatorSettings


def register(subparsers) -> None:
    parser = subparsers.add_parser("operator", help="run the tfguard operator")
    sub = parser.add_subparsers(dest="operator_command", metavar="COMMAND")
    run = sub.add_parser("run", help="run the operator until stopped (SIGTERM/SIGINT)")
    d = OperatorSettings()
    run.add_argument("--namespace", default=d.namespace,
                     help="tfguard's own namespace: certificate Secret, Lease; never annotated (default: %(default)s)")
    run.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)")
    run.add_argument("--standalone", action="store_true", help="no leader election (a single replica)")
    run.add_argument("--recheck-interval", type=float, default=d.recheck_interval, metavar="SECONDS",
                     help="seconds between background re-checks of every tfguard workload (default: %(default)s)")
    certs = run.add_argument_group("webhook certificates")
    certs.add_argument("--no-certificates", dest="manage_certificates", action="store_false",
                       help="do not manage the webhook's certificate at all")
    certs.add_argument("--webhook-service", default=d.webhook_service,
                       help="the webhook's Service in --namespace, for the certificate's DNS names (default: %(default)s)")
    certs.add_argument("--cert-secret", default=d.cert_secret, help="the TLS Secret in --namespace (default: %(default)s)")
    certs.add_argument("--webhook-selector", default=d.webhook_selector,
                       help="label selector of the webhook configurations to inject the CA into (default: %(default)s)")
    certs.add_argument("--webhook-cert-dir", metavar="DIR",
                       help="also write tls.crt, tls.key and ca.crt here (for a webhook run outside the cluster)")
    certs.add_argument("--dns-name", action="append", default=[], help="an extra DNS name for the certificate")
    certs.add_argument("--ip-address", action="append", default=None,
                       help="IP address for the certificate (repeatable; default: 127.0.0.1)")
    certs.add_argument("--ca-validity", type=float, default=d.ca_validity, metavar="SECONDS")
    certs.add_argument("--cert-validity", type=float, default=d.cert_validity, metavar="SECONDS")
    certs.add_argument("--renew-fraction", type=float, default=d.renew_fraction,
                       help="renew when this fraction of a certificate's lifetime is left (default: 1/3)")
    certs.add_argument("--bundle-propagation", type=float, default=d.bundle_propagation, metavar="SECONDS",
                       help="wait between adding a new CA to the bundle and serving a certificate it signed")
    certs.add_argument("--cert-check-interval", type=float, default=d.cert_check_interval, metavar="SECONDS")
    ha = run.add_argument_group("leader election")
    ha.add_argument("--lease-name", default=d.lease_name)
    ha.add_argument("--lease-duration", type=float, default=d.lease_duration, metavar="SECONDS")
    ha.add_argument("--lease-renew-every", type=float, default=d.lease_renew_every, metavar="SECONDS")
    run.add_argument("--health-port", type=int, default=None, metavar="PORT",
                     help="serve GET /healthz on this port for a liveness probe (default: off)")
    run.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    run.set_defaults(func=run_command)
    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def settings_from(args: argparse.Namespace) -> OperatorSettings:
    return OperatorSettings(
        namespace=args.namespace,
        kubeconfig=args.kubeconfig,
        standalone=args.standalone,
        recheck_interval=args.recheck_interval,
        manage_certificates=args.manage_certificates,
        webhook_service=args.webhook_service,
        cert_secret=args.cert_secret,
        webhook_selector=args.webhook_selector,
        webhook_cert_dir=args.webhook_cert_dir,
        extra_dns_names=tuple(args.dns_name),
        ip_addresses=tuple(args.ip_address) if args.ip_address is not None else ("127.0.0.1",),
        ca_validity=args.ca_validity,
        cert_validity=args.cert_validity,
        renew_fraction=args.renew_fraction,
        bundle_propagation=args.bundle_propagation,
        cert_check_interval=args.cert_check_interval,
        lease_name=args.lease_name,
        lease_duration=args.lease_duration,
        lease_renew_every=args.lease_renew_every,
        health_port=args.health_port,
    )


def run_command(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("kopf").setLevel(max(logging.WARNING, logging.getLogger().level))
    import sys

    from tfguard.errors import ConfigError
    from tfguard.kube import load_config
    from tfguard.operator.main import run

    settings = settings_from(args)
    try:
        load_config(settings.kubeconfig)  # a missing or broken kubeconfig is a usage error, said once
    except ConfigError as exc:
        print(f"tfguard operator run: no usable cluster configuration: {exc}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(run(settings))
    except KeyboardInterrupt:
        return 0
