"""The protobuf classes inspection parses SavedModels with, from the serialized schemas of
schema_descriptors.py (their readable source is schema_source.py).

Two flavours of the same schema live in two private pools: `BINARY` keeps the values tfguard
never looks into as opaque bytes; `TEXT`, for saved_model.pbtxt, declares them as empty messages.
"""

from __future__ import annotations

import sys
import types

from tfguard.compat import inspect as inspection
from tfguard.compat.inspect import schema_descriptors
from tfguard.records import fields, record

_PACKAGE = "tfguard.inspect"
_WELL_KNOWN_TYPES = "google.protobuf.internal.well_known_types"


@record(frozen=True)
class Schema:
    SavedModel: type
    KerasSavedMetadata: type
    NodeDef: type
    FunctionDef: type
    GraphDef: type
    MetaGraphDef: type


def _classes():
    """(a new descriptor pool, a function making a message class from a descriptor, whether upb).

    With protobuf's upb implementation (the one pip installs) the classes are made by upb directly:
    `google.protobuf.descriptor_pool` and `message_factory` import the pure-Python message
    machinery too, which costs more start-up than the rest of `tfguard inspect`."""
    try:
        from google._upb import _message
        from google.protobuf import message

        return _message.DescriptorPool(), lambda d: _message.MessageMeta(
            d.name, (message.Message,), {"DESCRIPTOR": d, "__module__": None}
        ), True
    except ImportError:  # another implementation: the public API
        from google.protobuf import descriptor_pool, message_factory

        return descriptor_pool.DescriptorPool(), message_factory.GetMessageClass, False


def _build(serialized: bytes) -> Schema:
    pool, make, upb = _classes()
    pool.AddSerializedFile(serialized)
    # upb looks the table up once, when it makes its first class (google/protobuf's python/message.c)
    stand_in = upb and inspection.only_own_messages_here and _WELL_KNOWN_TYPES not in sys.modules
    if stand_in:
        sys.modules[_WELL_KNOWN_TYPES] = types.SimpleNamespace(WKTBASES={})
    try:
        return Schema(*(make(pool.FindMessageTypeByName(f"{_PACKAGE}.{f.name}")) for f in fields(Schema)))
    finally:
        if stand_in:
            del sys.modules[_WELL_KNOWN_TYPES]  # an import from here on gets the real module


BINARY = _build(schema_descriptors.BINARY)


def __getattr__(name: str) -> Schema:
    if name == "TEXT":  # only saved_model.pbtxt needs it: built on first use
        global TEXT
        TEXT = _build(schema_descriptors.TEXT)
        return TEXT
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
