"""The real bot serving the real base model (MiniLM): 1, 5 and 20 concurrent ``/classify``
with the default, batched ``attn-grad`` explanation. Each command gets its own reply and
heatmap; the latencies are recorded for the summary, not asserted (see
benchmarks/concurrent_classify.py for the measured numbers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.support import (
    PNG_SIGNATURE,
    VERSION,
    BotProcess,
    record_latency,
    start_socket_bot,
    wait_quiet,
)
from tests.support.fakeslack import FakeSlack
from tests.support.stores import minilm_store

pytestmark = pytest.mark.e2e

LABELS = ["negative", "neutral", "positive"]
TEXT = (
    "the parcel came two days late and the box was crushed but the blender works fine "
    "and support answered within the hour"
)
WORDS = TEXT.split()


def text_for(i: int) -> str:
    """A different 22-word text per command (the words rotated by ``i``)."""
    k = i % len(WORDS)
    return " ".join(WORDS[k:] + WORDS[:k])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store serving the embedded MiniLM with a fresh 3-label head."""
    return minilm_store(tmp_path_factory.mktemp("base-store"), LABELS, VERSION)


@pytest.fixture(scope="module")
def bot(
    fake: FakeSlack, store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    yield from start_socket_bot(fake, store, tmp_path_factory.mktemp("base-bot"))


@pytest.mark.parametrize("n", [1, 5, 20])
def test_concurrent_commands_each_get_their_own_explained_reply(
    fake: FakeSlack, bot: BotProcess, n: int
) -> None:
    wait_quiet(fake, 0.3)
    fake.reset()
    channels = [f"C{n}x{i:02d}" for i in range(n)]
    envelopes = [  # n people at once, each within HEED_CLASSIFY_PER_MINUTE
        fake.send_slash_command("/classify", text_for(i), channel_id=ch, user_id=f"U{n}x{i:02d}")
        for i, ch in enumerate(channels)
    ]
    acks = [fake.wait_for_ack(e, timeout=10) for e in envelopes]

    def reply(channel: str):
        found = [
            c
            for c in fake.calls("chat.postMessage")
            if c.params.get("channel") == channel and c.params.get("blocks")
        ]
        return found[0] if found else None

    def uploads(channel: str) -> list:
        return [u for u in fake.uploads if u.completed and u.channel == channel]

    fake.wait_for(
        lambda: all(reply(ch) and uploads(ch) for ch in channels), timeout=120, what="replies"
    )
    answered = []
    for i, (ack, channel) in enumerate(zip(acks, channels, strict=True)):
        posted = reply(channel)
        blocks = json.dumps(posted.params["blocks"], ensure_ascii=False)
        assert text_for(i) in blocks  # its own text, quoted
        assert "attn-grad" in posted.params["text"]
        [upload] = uploads(channel)
        assert upload.data.startswith(PNG_SIGNATURE)
        answered.append(posted.time - ack.sent_at)
    record_latency(f"base x{n}", "reply", answered)
