"""Test prerequisites that `make test` installs (the control plane, helm, linters, uv).

Someone running pytest by hand without them gets a skip that names the make target; under
`make test` (TFGUARD_REQUIRE_PREREQUISITES=1) the same gap is a failure, since there a skip would
hide a broken install step.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_ENV = "TFGUARD_REQUIRE_PREREQUISITES"


def missing(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason}: `make test` installs it, so its install step is broken", pytrace=False)
    pytest.skip(reason)
