"""The `tfguard` command line: inspect, check, probe, webhook, operator."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# Each subcommand lives in tfguard/commands/<name>.py and exposes
# `register(subparsers)`, which adds its parser and sets `func(args) -> int`.
SUBCOMMANDS = ("inspect", "check", "probe", "webhook", "operator")


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's formatter, told the terminal's width: left to itself, it imports shutil (and
    with it zlib, bz2 and lzma) on every add_argument, a tenth of `tfguard inspect`'s imports."""
    try:
        columns = int(os.environ.get("COLUMNS", "")) or os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (ValueError, OSError, AttributeError):
        columns = 80
    return argparse.HelpFormatter(prog, width=max(columns, 20) - 2)


class _Parser(argparse.ArgumentParser):
    """The parser of `tfguard` and of its subcommands (add_subparsers makes them of this class)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _help_formatter)
        super().__init__(*args, **kwargs)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """`only`: register just that subcommand (start-up time matters for `tfguard inspect` in CI)."""
    parser = _Parser(
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


def run() -> int:
    """The `tfguard` console script: `main` in a process of its own."""
    if sys.argv[1:2] not in (["inspect"], ["check"]):
        return main()
    # One model parsed, then exit: see only_own_messages. And the exit skips the interpreter's
    # teardown (freeing some 120 modules and protobuf's descriptor pool: a tenth of a `tfguard check`)
    # once the output is flushed; these commands register no exit handlers and leave no files open.
    from tfguard.compat.inspect import only_own_messages

    only_own_messages()
    _messages_untranslated()
    try:
        code = main()
    except SystemExit as exc:  # argparse's usage errors and --help
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else _report(exc.code))
    _flush(sys.stdout)
    _flush(sys.stderr)
    os._exit(code & 0xFF)


def _messages_untranslated() -> None:
    """argparse looks every message it builds up in gettext's catalogues, searching the locale
    directories each time (and importing `locale` the first): 5 ms of a 70 ms `tfguard check`, for
    catalogues CPython does not ship. The console script's own process takes them as written."""
    argparse._ = str
    argparse.ngettext = lambda singular, plural, n: singular if n == 1 else plural


def _report(message: object) -> int:
    print(message, file=sys.stderr)
    return 1


def _flush(stream) -> None:
    try:
        stream.flush()
    except (OSError, ValueError):  # a reader that went away, a closed stream
        pass


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(only=argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(run())
