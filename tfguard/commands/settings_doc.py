"""docs/settings.md: every process's settings, generated (`python -m tfguard.commands.settings_doc`)."""

from __future__ import annotations

from tfguard.operator.settings import OperatorSettings
from tfguard.settings import markdown
from tfguard.webhook.settings import WebhookSettings


def settings_markdown() -> str:
    head = (
        "# Settings\n\nGenerated from each process's settings class (`python -m tfguard.commands.settings_doc "
        "> docs/settings.md`; the machinery is `tfguard/settings.py`). Precedence: default < environment < flag. "
        "`TFGUARD_NAMESPACE` and `TFGUARD_EXCLUDED_NAMESPACES` are read by both processes: the chart sets "
        "them once for both.\n\n"
    )
    return head + markdown(WebhookSettings, "`tfguard webhook serve`") + "\n" + markdown(OperatorSettings, "`tfguard operator run`")


if __name__ == "__main__":
    print(settings_markdown(), end="")
