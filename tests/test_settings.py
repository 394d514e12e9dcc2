"""One settings mechanism for every process: defaults, then the environment, then flags; a bad value
is a ConfigError that names where it came from."""

from __future__ import annotations

import argparse

import pytest

from tfguard.errors import ConfigError
from tfguard.operator.settings import OperatorSettings
from tfguard.settings import add_arguments, from_sources
from tfguard.webhook.settings import WebhookSettings


def parsed(cls, *argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser, cls)
    return parser.parse_args(list(argv))


def test_a_flag_beats_the_environment_which_beats_the_default():
    assert from_sources(WebhookSettings).port == 8443
    assert from_sources(WebhookSettings, environ={"TFGUARD_WEBHOOK_PORT": "9443"}).port == 9443
    assert from_sources(WebhookSettings, parsed(WebhookSettings, "--port", "10443"), {"TFGUARD_WEBHOOK_PORT": "9443"}).port == 10443


def test_the_scope_has_one_spelling_for_both_processes():
    env = {"TFGUARD_NAMESPACE": "guard", "TFGUARD_EXCLUDED_NAMESPACES": "batch, infra"}
    for cls in (WebhookSettings, OperatorSettings):
        settings = from_sources(cls, environ=env)
        assert settings.namespace == "guard" and settings.excluded_namespaces == ("batch", "infra")
        assert not settings.watches_namespace("guard") and not settings.watches_namespace("infra")
        assert settings.watches_namespace("ml") and not settings.watches_namespace("")


def test_booleans_lists_and_renamed_flags():
    args = parsed(OperatorSettings, "--no-certificates", "--standalone", "--dns-name", "a.example", "--dns-name", "b,c")
    settings = from_sources(OperatorSettings, args)
    assert settings.manage_certificates is False and settings.standalone is True
    assert settings.extra_dns_names == ("a.example", "b", "c")
    assert from_sources(WebhookSettings, parsed(WebhookSettings, "--no-watch")).watch is False
    assert from_sources(WebhookSettings, environ={"TFGUARD_WEBHOOK_WATCH": "false"}).watch is False


@pytest.mark.parametrize("environ, names", [
    ({"TFGUARD_WEBHOOK_PORT": "https"}, "TFGUARD_WEBHOOK_PORT"),
    ({"TFGUARD_WEBHOOK_WATCH": "maybe"}, "TFGUARD_WEBHOOK_WATCH"),
    ({"TFGUARD_WEBHOOK_DEFAULT_MODE": "strict"}, "default-mode"),
])
def test_a_value_that_does_not_parse_is_a_config_error_naming_its_source(environ, names):
    with pytest.raises(ConfigError, match=names):
        from_sources(WebhookSettings, environ=environ)


def test_docs_settings_md_is_generated_from_the_settings_classes():
    from pathlib import Path

    from tfguard.commands.settings_doc import settings_markdown

    assert (Path(__file__).parents[1] / "docs" / "settings.md").read_text() == settings_markdown()
