"""slack-manifest.yaml declares what the bot uses: commands, scopes, events, Socket Mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.handlers.admin import ADMIN, HANDLERS
from bot.handlers.appeal import APPEAL_LABEL
from bot.handlers.classify import CLASSIFY, CLASSIFY_MESSAGE
from bot.handlers.feedback import CORRECT_LABEL

yaml = pytest.importorskip("yaml")

MANIFEST = Path(__file__).resolve().parents[2] / "slack-manifest.yaml"


def test_manifest_matches_the_bot() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    features, settings = manifest["features"], manifest["settings"]
    commands = {c["command"]: c for c in features["slash_commands"]}
    assert set(commands) == {CLASSIFY, ADMIN}
    assert (
        "retrain | cancel | status | versions | promote VERSION | rollback | export | shadow"
        in commands["/heed-admin"]["usage_hint"]
    )
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes >= {
        "commands",
        "chat:write",
        "files:write",
        "reactions:write",
        "channels:history",
        "groups:history",
        "channels:read",
        "groups:read",
        "im:write",
        "users:read",
    }
    events = set(settings["event_subscriptions"]["bot_events"])
    assert events == {"message.channels", "message.groups", "app_home_opened"}
    assert settings["interactivity"]["is_enabled"] and settings["socket_mode_enabled"]
    assert features["app_home"]["home_tab_enabled"]
    # Heed sends heatmaps, exports and private replies by DM: the Messages tab must show them,
    # read-only since Heed does not chat.
    assert features["app_home"]["messages_tab_enabled"] is True
    assert features["app_home"]["messages_tab_read_only_enabled"] is True
    assert features["bot_user"]["display_name"] == "Heed"
    assert len(manifest["display_information"]["long_description"]) >= 175


def test_the_admin_usage_hint_lists_every_subcommand() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    [admin] = [c for c in manifest["features"]["slash_commands"] if c["command"] == ADMIN]
    hint = (
        "retrain | cancel | status | versions | promote VERSION | rollback | export | "
        "shadow VERSION | forget @user | agreement | dry-run #channel | help"
    )
    assert admin["usage_hint"] == hint
    labelers_too = {"queue", "suspects"}  # in /heed-admin help, not in the admins' hint
    assert {part.split()[0] for part in hint.split(" | ")} == set(HANDLERS) - labelers_too


def test_the_message_shortcut_is_declared_as_the_bot_handles_it() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    assert set(shortcuts) == {CLASSIFY_MESSAGE, CORRECT_LABEL, APPEAL_LABEL}
    assert shortcuts[CLASSIFY_MESSAGE]["name"] == "Classify with Heed"
    assert shortcuts[CORRECT_LABEL]["name"] == "Correct Heed's label"
    assert shortcuts[APPEAL_LABEL]["name"] == "Appeal Heed's label"
    for shortcut in shortcuts.values():
        assert shortcut["type"] == "message"
        assert 0 < len(shortcut["description"]) <= 150  # Slack's limit
    assert "usergroups:read" in manifest["oauth_config"]["scopes"]["bot"]  # HEED_LABELERS
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"]  # shortcuts need it
    assert manifest["settings"]["interactivity"]["is_enabled"]  # shortcuts arrive there
