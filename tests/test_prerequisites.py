"""Under `make test` a missing prerequisite fails the test instead of skipping it quietly."""

from __future__ import annotations

import pytest

from harness.prerequisites import REQUIRE_ENV, missing


def test_a_missing_prerequisite_is_a_skip_when_run_by_hand(monkeypatch):
    monkeypatch.delenv(REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="helm is not installed"):
        missing("helm is not installed")


def test_a_missing_prerequisite_fails_under_make_test(monkeypatch):
    monkeypatch.setenv(REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="install step is broken"):
        missing("helm is not installed")
