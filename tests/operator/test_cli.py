"""`tfguard operator run` on bad input: a clear message and exit status 2, no traceback."""

from __future__ import annotations


def test_a_missing_or_broken_kubeconfig_is_a_usage_error(tmp_path, capsys):
    from tfguard.cli import main

    broken = tmp_path / "kubeconfig"
    broken.write_text("garbage: [\n")
    for path in (tmp_path / "missing", broken):
        assert main(["operator", "run", "--standalone", "--kubeconfig", str(path)]) == 2
        assert "no usable cluster configuration" in capsys.readouterr().err
