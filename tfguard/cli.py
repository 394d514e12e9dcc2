"""The `tfguard` command line: inspect, check, probe, webhook, operator."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each subcommand lives in tfguard/commands/<name>.py and exposes
# `register(subparsers)`, which adds its parser and sets `func(args) -> int`.
SUBCOMMANDS = ("inspect", "check", "probe", "webhook", "operator")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """`only`: register just that subcommand (start-up time matters for `tfguard inspect` in CI)."""
    parser = argparse.ArgumentParser(
        prog="tfguard",
        description="Keep TensorFlow models off images that cannot load them.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (only,) if only in SUBCOMMANDS else SUBCOMMANDS:
        try:
            module = importlib.import_module(f"tfguard.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tfguard.commands.{name}":
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(only=argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
