"""The probe's copies of tfguard's tables (it cannot import tfguard) are the generated ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given, strategies as st

from tfguard.compat.inspect.keras_config import keras_modules
from tfguard.probes import probe

ROOT = Path(__file__).resolve().parents[2]


def test_the_generated_tables_in_the_probe_are_up_to_date():
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "gen_probe_tables.py"), "--check"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["keras.layers", "keras.src.engine.functional", "x"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["module", "class_name", "config", "layers", "name"]), children, max_size=4),
    max_leaves=30,
)


@given(_json)
def test_the_probe_and_inspect_list_the_same_keras_modules_of_a_config(config):
    assert probe._keras_modules(config) == keras_modules(config)


def test_the_probe_knows_the_loaders_the_engine_judges():
    from tfguard.compat import loaders

    assert probe.LOADERS == loaders.LOADERS and probe.LOADER_ALIASES == loaders.ALIASES
