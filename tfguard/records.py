"""Records: classes of named fields, for the facts, the knowledge and the verdict.

The same declarations and the same behaviour as `dataclasses.dataclass` (and `frozen=True`), for
the subset tfguard uses: fields with defaults or default factories, `repr=False`, `metadata`,
`replace`, `fields`, `asdict`. Why not dataclasses: every `tfguard inspect` and `tfguard check`
defines some thirty of these classes at start-up, and `dataclasses` spends about a millisecond
on each (it compiles five or six methods per class and imports `inspect`), which was a third of
what the command costs before it reads the model. Here a class compiles one `__init__`, when it
is first called; equality, hashing, repr and freezing are shared functions over the field names.

For the same reason the modules `tfguard inspect` and `tfguard check` import name `typing` only
under `TYPE_CHECKING = False`: their annotations are never evaluated (`from __future__ import
annotations`), and importing `typing` costs some 4 ms of a start-up of about 70.
"""

from __future__ import annotations

import sys
from operator import attrgetter

TYPE_CHECKING = False  # typing only for annotations: see tfguard/records.py
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

__all__ = ["record", "field", "fields", "replace", "asdict", "is_record", "Field", "FrozenInstanceError"]

_FIELDS = "__record_fields__"


class FrozenInstanceError(AttributeError):
    """Raised on assignment to a field of a frozen record (as dataclasses.FrozenInstanceError)."""


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """One field of a record: its name, and its default or the factory that makes it."""

    __slots__ = ("name", "default", "default_factory", "repr", "metadata")

    def __init__(self, default: Any = MISSING, default_factory: Optional[Callable[[], Any]] = None,
                 repr: bool = True, metadata: Optional[dict] = None) -> None:
        if default is not MISSING and default_factory is not None:
            raise ValueError("a field takes a default or a default_factory, not both")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.metadata = metadata or {}

    @property
    def required(self) -> bool:
        return self.default is MISSING and self.default_factory is None

    def __repr__(self) -> str:
        return f"Field({self.name!r})"


def field(*, default: Any = MISSING, default_factory: Optional[Callable[[], Any]] = None, repr: bool = True,
          metadata: Optional[dict] = None) -> Any:
    """A field's default or default factory, written in the class body as with dataclasses.field."""
    return Field(default, default_factory, repr, metadata)


def fields(record_or_class) -> tuple[Field, ...]:
    try:
        return getattr(record_or_class, _FIELDS)
    except AttributeError:
        raise TypeError(f"{record_or_class!r} is not a record") from None


def is_record(obj) -> bool:
    return hasattr(type(obj) if not isinstance(obj, type) else obj, _FIELDS)


def replace(obj, **changes):
    """A copy of the record `obj` with `changes` (field name -> value) applied."""
    for f in fields(obj):
        if f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return type(obj)(**changes)


def asdict(obj) -> Any:
    """The record as plain dicts and lists, recursively (tuples stay tuples), copying containers."""
    if is_record(obj) and not isinstance(obj, type):
        return {f.name: asdict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return type(obj)((asdict(k), asdict(v)) for k, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return type(obj)(asdict(v) for v in obj)
    return obj


def record(cls=None, /, *, frozen: bool = False):
    """Make `cls` a record of the fields its annotations declare: `@record` or `@record(frozen=True)`."""
    if cls is None:
        return lambda c: _make(c, frozen)
    return _make(cls, frozen)


def _make(cls, frozen: bool):
    inherited = {f.name: f for base in reversed(cls.__mro__[1:]) for f in getattr(base, _FIELDS, ())}
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if _is_class_var(annotation):
            continue
        value = cls.__dict__.get(name, MISSING)
        f = value if isinstance(value, Field) else Field(default=value)
        f.name = name
        if isinstance(value, Field):
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        inherited[name] = f
    all_fields = tuple(inherited.values())
    seen_default = False
    for f in all_fields:
        if f.required and seen_default:
            raise TypeError(f"{cls.__name__}: non-default field {f.name!r} follows a default one")
        seen_default = seen_default or not f.required
    setattr(cls, _FIELDS, all_fields)
    names = tuple(f.name for f in all_fields)
    cls.__init__ = _compiled_on_first_use(cls, all_fields, frozen)
    values = _values_getter(names)
    shown = tuple(f.name for f in all_fields if f.repr)
    if "__repr__" not in cls.__dict__:
        cls.__repr__ = _repr(shown)
    if "__eq__" not in cls.__dict__:
        def __eq__(self, other):
            if other.__class__ is self.__class__:
                return values(self) == values(other)
            return NotImplemented
        cls.__eq__ = __eq__
    if frozen:
        if "__hash__" not in cls.__dict__:
            cls.__hash__ = lambda self: hash(values(self))
        cls.__setattr__ = _refuse_assignment
        cls.__delattr__ = _refuse_assignment
    elif "__hash__" not in cls.__dict__:
        cls.__hash__ = None  # mutable and compared by value, as dataclasses makes it
    cls.__match_args__ = names
    return cls


def _is_class_var(annotation) -> bool:
    if isinstance(annotation, str):  # postponed annotations (from __future__ import annotations)
        return annotation.startswith(("ClassVar", "typing.ClassVar"))
    typing = sys.modules.get("typing")  # an evaluated ClassVar means typing is imported
    class_var = typing.ClassVar if typing else None
    return class_var is not None and (getattr(annotation, "__origin__", None) is class_var or annotation is class_var)


def _values_getter(names: tuple[str, ...]) -> Callable[[Any], tuple]:
    if len(names) == 1:
        one = attrgetter(names[0])
        return lambda self: (one(self),)
    return attrgetter(*names) if names else (lambda self: ())


def _compiled_on_first_use(cls, all_fields: tuple[Field, ...], frozen: bool):
    """An `__init__` that compiles the class's own on its first call: compiling is most of what
    defining a record costs, and a command uses few of the classes it imports."""
    def __init__(self, *args, **kwargs):
        init = _init(cls, all_fields, frozen)
        if cls.__dict__.get("__init__") is __init__:
            cls.__init__ = init
        init(self, *args, **kwargs)
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    return __init__


def _init(cls, all_fields: tuple[Field, ...], frozen: bool):
    scope: dict[str, Any] = {"_set": object.__setattr__, "_MISSING": MISSING}
    params, body = [], []
    for f in all_fields:
        if f.default_factory is not None:
            scope[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            value = f"_factory_{f.name}() if {f.name} is _MISSING else {f.name}"
        elif f.default is not MISSING:
            scope[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
            value = f.name
        else:
            params.append(f.name)
            value = f.name
        body.append(f"_set(self, {f.name!r}, {value})" if frozen else f"self.{f.name} = {value}")
    if hasattr(cls, "__post_init__"):
        body.append("self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n    " + "\n    ".join(body or ["pass"]) + "\n"
    exec(source, scope)  # one small function per class: the only code this module compiles
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _repr(shown: tuple[str, ...]):
    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({inner})"
    return __repr__


def _refuse_assignment(self, name, *value):
    raise FrozenInstanceError(f"cannot assign to field {name!r}")
