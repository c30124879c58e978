"""Jobs run after the ack, off Bolt's threads; a failed job is logged with its context and the
person gets a short apology with a reference, never a trace."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from unittest.mock import MagicMock

import pytest

from bot.services import Request, Services, apology
from tests.bot.stubs import StubClassifier, request_for, services_for

COMMAND = {"command": "/classify", "channel_id": "C2", "user_id": "U9", "text": "private words"}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    s = services_for(tmp_path)
    yield s
    s.close()


def test_a_job_waits_for_the_ack(services: Services) -> None:
    sent, ran = threading.Event(), []
    request = request_for(services, COMMAND, ack_sent=sent)
    future = services.submit(lambda r: ran.append(r.user), request)
    assert not future.done() and ran == []
    sent.set()
    future.result(timeout=5)
    assert ran == ["U9"]


def test_a_failed_job_is_logged_and_apologised_for(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(request: Request) -> None:
        raise RuntimeError("a detail for the log")

    respond = MagicMock()
    with caplog.at_level(logging.ERROR, logger="bot.services"):
        services.submit(explode, request_for(services, COMMAND, respond=respond)).result(5)
    text = respond.call_args.kwargs["text"]
    assert respond.call_args.kwargs["response_type"] == "ephemeral"
    assert text.startswith(":face_with_head_bandage: Sorry") and "detail" not in text
    ref = text.split("ref `")[1].split("`")[0]
    [record] = [r for r in caplog.records if ref in r.getMessage()]
    message = record.getMessage()
    assert message.startswith(f"explode failed [ref={ref} command=/classify channel=C2 user=U9")
    assert "private words" not in message and record.exc_info


def test_a_failing_apology_is_only_logged(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    respond = MagicMock(side_effect=OSError("response_url expired"))
    with caplog.at_level(logging.ERROR, logger="bot.services"):
        request = request_for(services, COMMAND, respond=respond)
        future = services.submit(lambda r: 1 / 0, request)
        assert future.result(timeout=5) is None
    assert any("could not report failure" in r.getMessage() for r in caplog.records)


def test_a_failed_event_job_is_only_logged(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    event = {"type": "event_callback", "event": {"type": "message", "channel": "C1"}}
    request = replace(request_for(services, event), respond=None)
    with caplog.at_level(logging.ERROR, logger="bot.services"):
        assert services.submit(lambda r: 1 / 0, request).result(timeout=5) is None
    assert any("event=message channel=C1" in r.getMessage() for r in caplog.records)


def test_a_timed_request_is_measured(services: Services) -> None:
    import time

    request = request_for(services, COMMAND, received_at=time.monotonic())
    services.submit(lambda r: None, request).result(timeout=5)
    sample = services.metrics.reply_seconds.labels("classify")
    assert sample._sum.get() > 0  # type: ignore[attr-defined]


def test_the_services_build_their_parts_from_the_settings(tmp_path: Path) -> None:
    s = services_for(
        tmp_path,
        StubClassifier(label="neutral"),
        autotag_channels=("C1",),
        admins=frozenset({"UADMIN"}),
    )
    try:
        assert s.channels.enabled and s.channels.ids == {"C1"}
        assert s.admin.check("UADMIN", lambda user: {}, user_team="T1", home_team="T1").allowed
        assert s.batcher.submit(("default", "hello")).result(timeout=5).label == "neutral"
        assert set(s.runners) == {"default"}
    finally:
        s.close()
    with pytest.raises(RuntimeError, match="closed"):
        s.batcher.submit(("default", "late"))


def test_the_apology_names_the_log_reference_and_nothing_else() -> None:
    assert apology("abcd") == (
        ":face_with_head_bandage: Sorry, Heed couldn't handle that. (ref `abcd`)"
    )
