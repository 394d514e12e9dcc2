"""Settings: one declarative object per process, filled from its defaults, the environment, then flags.

A settings class is a record (tfguard.records) whose fields are made with `setting()`: each carries its help text
(the field's documentation, shown by `--help` and in docs/settings.md), and may name its flag and
environment variable. The same machinery serves every process, so a value has one spelling in
the chart, the environment and the command line:

    @record
    class WebhookSettings(Scope):
        port: int = setting(8443, "port to listen on")

    parser = argparse.ArgumentParser(); add_arguments(parser, WebhookSettings)
    settings = from_sources(WebhookSettings, parser.parse_args(), os.environ)

Environment names: `TFGUARD_<PREFIX>_<FIELD>` for a process's own fields (`env_prefix` on the
class, e.g. "WEBHOOK"), `TFGUARD_<FIELD>` for the fields of `Scope`, which every process reads alike
(the chart sets them once for both). Flags: `--field-name`, booleans also `--no-field-name`.
Precedence: default < environment < flag. A value that does not parse is a ConfigError naming the
variable or flag.
"""

from __future__ import annotations

import argparse
import typing
from typing import Any, Mapping, Optional

from tfguard import records
from tfguard.errors import ConfigError
from tfguard.records import record

_MISSING = records.MISSING


def setting(
    default: Any = _MISSING,
    help: str = "",
    *,
    flag: Optional[str] = None,
    env: Optional[str] = None,
    metavar: Optional[str] = None,
    choices: Optional[tuple[str, ...]] = None,
    default_factory: Any = _MISSING,
    cli: bool = True,
) -> Any:
    """A settings field. `flag` / `env` override the derived names; `cli=False` keeps it off the
    command line (still settable through the environment)."""
    metadata = {"help": help, "flag": flag, "env": env, "metavar": metavar, "choices": choices, "cli": cli}
    if default_factory is not _MISSING:
        return records.field(default_factory=default_factory, metadata=metadata)
    return records.field(default=default, metadata=metadata)


@record
class Scope:
    """Where tfguard looks: the same for the webhook and the operator (the chart passes both the
    same values), so neither checks nor annotates what the other leaves alone."""

    env_prefix: typing.ClassVar[str] = ""

    namespace: str = setting(
        "tfguard", "tfguard's own namespace: never checked, mutated or annotated (its Secrets, Lease and "
        "webhook Service live here)", env="TFGUARD_NAMESPACE",
    )
    excluded_namespaces: tuple[str, ...] = setting(
        ("kube-system",), "namespaces tfguard never checks, mutates or annotates (comma- or space-separated)",
        env="TFGUARD_EXCLUDED_NAMESPACES", metavar="NS[,NS...]",
    )
    trusted_namespaces: tuple[str, ...] = setting(
        (), "namespaces whose probe observations (ImageStacks) apply to every namespace; facts observed "
        "anywhere else apply only where they were observed (docs/threat-model.md)",
        env="TFGUARD_TRUSTED_NAMESPACES", metavar="NS[,NS...]",
    )

    def watches_namespace(self, namespace: Optional[str]) -> bool:
        """True for a namespace tfguard looks at (not its own, not an excluded one)."""
        return bool(namespace) and namespace != self.namespace and namespace not in self.excluded_namespaces

    def is_excluded(self, namespace: Optional[str]) -> bool:
        return bool(namespace) and not self.watches_namespace(namespace)


@record
class Injection:
    """The probe tfguard injects: the webhook builds it, the operator accepts reports only from a Pod
    whose probe is exactly that (the chart passes both the same values)."""

    probe_image: str = setting(
        "tfguard/probe:0.1.0", "image of the init container that copies probe.py into the Pod",
        env="TFGUARD_PROBE_IMAGE",
    )
    probe_install_command: tuple[str, ...] = setting(
        ("cp", "/opt/tfguard/probe.py", "/tfguard/probe.py"),
        "how that init container copies the probe into the shared emptyDir", env="TFGUARD_PROBE_INSTALL_COMMAND",
        cli=False,
    )


def fields(cls) -> list[records.Field]:
    return list(records.fields(cls))


def env_name(cls, f: records.Field) -> str:
    if f.metadata.get("env"):
        return f.metadata["env"]
    prefix = getattr(cls, "env_prefix", "")
    return f"TFGUARD_{prefix + '_' if prefix else ''}{f.name.upper()}"


def flag_name(f: records.Field) -> str:
    return f.metadata.get("flag") or "--" + f.name.replace("_", "-")


def _kind(cls, f: records.Field) -> type:
    hint = typing.get_type_hints(cls)[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin in (tuple, list):
        return tuple
    if origin is typing.Union and args:
        return _plain(args[0])
    return _plain(hint)


def _plain(hint: Any) -> type:
    origin = typing.get_origin(hint)
    if origin in (tuple, list):
        return tuple
    return hint if isinstance(hint, type) else str


def _parse(kind: type, raw: str, where: str) -> Any:
    text = raw.strip()
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{where}={raw!r} is not a boolean (true/false)")
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            raise ConfigError(f"{where}={raw!r} is not {'an integer' if kind is int else 'a number'}") from None
    if kind is tuple:
        return tuple(p for p in text.replace(",", " ").split() if p)
    return text


def add_arguments(parser: argparse.ArgumentParser, cls, group_by: Optional[Mapping[str, str]] = None) -> None:
    """One flag per field (defaults stay in the class: flags given override, flags absent do not).
    `group_by` maps a field-name prefix to an argument-group title, for a readable --help."""
    groups: dict[str, Any] = {}
    for f in fields(cls):
        if not f.metadata.get("cli", True):
            continue
        target: Any = parser
        for prefix, title in (group_by or {}).items():
            if f.name.startswith(prefix):
                target = groups.setdefault(title, parser.add_argument_group(title))
                break
        kind = _kind(cls, f)
        default = f.default if f.default is not _MISSING else f.default_factory()  # type: ignore[misc]
        shown = ",".join(default) if isinstance(default, tuple) else default
        text = f"{f.metadata.get('help', '')} (default: {shown}; env {env_name(cls, f)})".replace("%", "%%")
        common = {"dest": f.name, "default": argparse.SUPPRESS, "help": text}
        if kind is bool:
            target.add_argument(flag_name(f), action=argparse.BooleanOptionalAction, **common)
        elif kind is tuple:
            target.add_argument(flag_name(f), action="append", metavar=f.metadata.get("metavar") or "VALUE", **common)
        else:
            target.add_argument(
                flag_name(f), type=kind if kind in (int, float) else str, choices=f.metadata.get("choices"),
                metavar=f.metadata.get("metavar"), **common,
            )


def from_sources(cls, args: Optional[argparse.Namespace] = None, environ: Optional[Mapping[str, str]] = None, **overrides):
    """An instance of `cls`: defaults, then the environment, then the flags in `args`, then `overrides`."""
    values: dict[str, Any] = {}
    for f in fields(cls):
        kind = _kind(cls, f)
        name = env_name(cls, f)
        if environ is not None and name in environ:
            values[f.name] = _parse(kind, environ[name], name)
        if args is not None and hasattr(args, f.name):
            given = getattr(args, f.name)
            if kind is tuple:
                given = tuple(p for item in given for p in _parse(tuple, item, flag_name(f)))
            values[f.name] = given
    values.update({k: v for k, v in overrides.items() if v is not None})
    choices = {f.name: f.metadata.get("choices") for f in fields(cls)}
    for name, value in values.items():
        if choices.get(name) and value not in choices[name]:
            raise ConfigError(f"{name.replace('_', '-')} must be one of {', '.join(choices[name])}, not {value!r}")
    try:
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def markdown(cls, title: str) -> str:
    """A table of the settings of `cls` for docs/settings.md."""
    rows = [f"## {title}", "", "| flag | environment | default | what |", "| --- | --- | --- | --- |"]
    for f in fields(cls):
        if f.default is not _MISSING:
            shown = ",".join(f.default) if isinstance(f.default, tuple) else f.default
        else:
            shown = "(computed)"
        flag = flag_name(f) if f.metadata.get("cli", True) else "-"
        rows.append(f"| `{flag}` | `{env_name(cls, f)}` | `{shown}` | {f.metadata.get('help', '')} |")
    return "\n".join(rows) + "\n"

