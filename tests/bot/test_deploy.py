"""deploy/: the systemd unit (and its HTTP-mode drop-in) is valid for systemd, runs the
installed ``heed-bot`` with the settings file the CLIs can read too, and the TLS proxy points at
the port the drop-in opens."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DEPLOY = REPO / "deploy"
UNIT = DEPLOY / "heed-bot.service"
DROP_IN = DEPLOY / "http-mode.conf"
ENV_FILE = DEPLOY / "heed.env.example"
INSTALLED = "/opt/heed/bin/heed-bot"

# Every key the unit and the drop-in use: a misspelt one (which systemd only warns about and
# ignores) fails here even where systemd-analyze is missing.
KNOWN_KEYS = {
    "Unit": {"Description", "Documentation", "Wants", "After"},
    "Service": {
        "Type",
        "User",
        "Group",
        "StateDirectory",
        "StateDirectoryMode",
        "WorkingDirectory",
        "Environment",
        "EnvironmentFile",
        "ExecStart",
        "KillMode",
        "KillSignal",
        "TimeoutStopSec",
        "Restart",
        "RestartSec",
        "RestartPreventExitStatus",
        "NoNewPrivileges",
        "ProtectSystem",
        "ProtectHome",
        "PrivateTmp",
        "PrivateDevices",
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectControlGroups",
        "RestrictSUIDSGID",
        "LockPersonality",
        "RestrictAddressFamilies",
        "UMask",
    },
    "Install": {"WantedBy"},
}


def parse_unit(text: str) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit as ``{section: [(key, value), ...]}`` (keys may repeat), or an
    AssertionError naming the first line that is not a comment, a section or ``Key=value``."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        header = re.fullmatch(r"\[(\w+)\]", line)
        if header:
            current = sections.setdefault(header.group(1), [])
            continue
        pair = re.fullmatch(r"([A-Za-z]+)=(.*)", line)
        assert pair and current is not None, f"line {number}: {raw!r}"
        current.append((pair.group(1), pair.group(2)))
    return sections


def values(section: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in section if k == key]


def test_the_unit_has_what_a_long_running_bot_needs() -> None:
    unit = parse_unit(UNIT.read_text(encoding="utf-8"))
    assert set(unit) == {"Unit", "Service", "Install"}
    for name, pairs in unit.items():
        assert {k for k, _ in pairs} <= KNOWN_KEYS[name], name
    service = unit["Service"]
    [start] = values(service, "ExecStart")
    assert start.split()[0] == INSTALLED and "--train-default" in start.split()
    assert values(service, "User") == ["heed"] and values(service, "StateDirectory") == ["heed"]
    assert values(service, "EnvironmentFile") == ["/etc/heed/heed.env"]
    assert values(service, "Restart") == ["on-failure"]
    assert values(service, "RestartPreventExitStatus") == ["2"]  # a bad setting: no loop
    assert values(service, "KillMode") == ["mixed"]  # the bot stops its retrain child
    assert values(unit["Install"], "WantedBy") == ["multi-user.target"]
    assert "network-online.target" in values(unit["Unit"], "After")[0]


def test_the_http_drop_in_listens_on_localhost_where_the_proxy_forwards() -> None:
    drop_in = parse_unit(DROP_IN.read_text(encoding="utf-8"))
    assert set(drop_in) == {"Service"}
    assert values(drop_in["Service"], "ExecStart")[0] == ""  # reset, then replace
    start = values(drop_in["Service"], "ExecStart")[1].split()
    assert start[0] == INSTALLED
    assert start[start.index("--host") + 1] == "127.0.0.1"
    port = start[start.index("--port") + 1]
    proxy = (DEPLOY / "nginx-heed.conf").read_text(encoding="utf-8")
    assert f"proxy_pass http://127.0.0.1:{port};" in proxy
    assert "location = /slack/events" in proxy and "listen 443 ssl" in proxy


def test_the_settings_file_is_valid_for_systemd_and_dotenv() -> None:
    from dotenv import dotenv_values

    documented = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    parsed = dotenv_values(ENV_FILE)
    for line in ENV_FILE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            assert re.fullmatch(r"[A-Z][A-Z0-9_]*", name), line
            assert "#" not in value and not value.startswith(("'", '"')), line  # same in both
            assert parsed[name] == value and f"`{name}`" in documented, name
    assert parsed["HEED_MODEL_DIR"].startswith("/var/lib/heed/")  # the unit's StateDirectory
    assert parsed["HEED_DATA_DIR"].startswith("/var/lib/heed/")


def test_systemd_analyze_verify_accepts_the_unit_and_the_drop_in(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip(
            "systemd-analyze is not installed (apt-get install systemd); "
            "the unit's keys were still checked above"
        )
    # verify checks that ExecStart's program exists: point it at one that does here.
    executable = shutil.which("heed-bot") or sys.executable
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED, executable))
    (tmp_path / f"{UNIT.name}.d").mkdir()
    (tmp_path / f"{UNIT.name}.d" / DROP_IN.name).write_text(
        DROP_IN.read_text(encoding="utf-8").replace(INSTALLED, executable)
    )
    done = subprocess.run(
        [tool, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    complaints = [line for line in done.stderr.splitlines() if UNIT.name in line]
    assert done.returncode == 0 and not complaints, done.stderr


def test_systemd_analyze_verify_would_catch_a_mistake(tmp_path: Path) -> None:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed")
    unit = tmp_path / UNIT.name
    text = UNIT.read_text(encoding="utf-8").replace(INSTALLED, sys.executable)
    unit.write_text(text.replace("Restart=on-failure", "Restartt=on-failure"))
    done = subprocess.run([tool, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert "Unknown key" in done.stderr


def test_http_mode_listens_on_localhost_unless_told(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.__main__ import main

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    assert "(default 127.0.0.1:" in " ".join(capsys.readouterr().out.split())
