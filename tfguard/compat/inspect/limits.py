"""Bounds on what inspection reads, so a hostile model costs bounded time and memory.

Every bound can be raised for unusual but honest models, in code (`Limits(...)`) or through the
environment: TFGUARD_INSPECT_<FIELD NAME IN UPPER CASE>, e.g. TFGUARD_INSPECT_SAVED_MODEL_BYTES.
"""

from __future__ import annotations

import os

from tfguard.records import fields, record


MiB = 1 << 20


@record(frozen=True)
class Limits:
    # saved_model.pb is read whole and parsed in memory (about 3x its size); protobuf itself
    # refuses messages over 2 GiB.
    saved_model_bytes: int = 1024 * MiB
    saved_model_pbtxt_bytes: int = 64 * MiB  # text format parses in pure Python: slow
    keras_metadata_bytes: int = 256 * MiB
    # config.json / metadata.json inside a .keras zip: declared size, then the bytes actually read
    zip_json_bytes: int = 64 * MiB
    zip_members: int = 100_000
    # uncompressed / compressed for a member read from a zip; honest JSON compresses ~5-20x
    zip_ratio: int = 200
    h5_attribute_bytes: int = 64 * MiB
    h5_seconds: int = 30  # the HDF5 library reads in a child process under this timeout
    model_files: int = 100_000  # files hashed for the digest of a SavedModel directory
    directory_depth: int = 32

    @classmethod
    def from_env(cls, environ: "os._Environ[str] | dict[str, str] | None" = None) -> "Limits":
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f"TFGUARD_INSPECT_{f.name.upper()}")
            if raw:
                try:
                    values[f.name] = int(raw)
                except ValueError:
                    raise ValueError(f"TFGUARD_INSPECT_{f.name.upper()}={raw!r} is not an integer") from None
        return cls(**values)


def human_size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"
