"""What the task tests share: tiny models with other label sets, driving /classify and the
message shortcut, reading a reply's label."""

from __future__ import annotations

from pathlib import Path

from tests.support.fakeslack import Call, FakeSlack

MODERATION = ("ok", "harassment", "spam")
SUPPORT = ("billing", "bug", "how-to", "other")
TO_SUPPORT = {"negative": "bug", "neutral": "how-to", "positive": "billing"}
TO_MODERATION = {"negative": "harassment", "neutral": "spam", "positive": "ok"}


def tiny_classifier(tiny_base: Path, path: Path, labels: tuple[str, ...]) -> Path:
    """A tiny random model with ``labels`` (a fresh head on the tiny base)."""
    from transformers import AutoTokenizer, BertForSequenceClassification

    model = BertForSequenceClassification.from_pretrained(
        tiny_base,
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        ignore_mismatched_sizes=True,
    )
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(tiny_base).save_pretrained(path)
    return path


def label_of(text: str, labels: tuple[str, ...]) -> str:
    """The label a reply's text starts with (``LABEL (33.9% confidence, …``), one of
    ``labels``."""
    label = text.split(" (", 1)[0]
    assert label in labels, (labels, text)
    return label


def classify(fake: FakeSlack, text: str, channel: str) -> Call:
    before = len(fake.calls("chat.postMessage"))
    envelope = fake.send_slash_command("/classify", text, channel_id=channel)
    assert fake.wait_for_ack(envelope, timeout=5).latency < 3
    return fake.wait_for(
        lambda: [c for c in fake.calls("chat.postMessage")[before:] if c.params.get("blocks")],
        timeout=30,
        what="a /classify reply",
    )[0]


def shortcut(fake: FakeSlack, text: str, channel: str) -> Call:
    """Click "Classify with Heed" on a message in ``channel``; its private answer."""
    before = len(fake.calls("chat.postEphemeral"))
    fake.send_interactive(
        {
            "type": "message_action",
            "callback_id": "heed_classify_message",
            "trigger_id": "1.T1.trigger",
            "user": {"id": "U7", "username": "u7"},
            "channel": {"id": channel, "name": channel.lower()},
            "message": {"type": "message", "user": "U2", "ts": "3.3", "text": text},
            "message_ts": "3.3",
            "response_url": f"{fake.base_url}/response/shortcut",
        }
    )
    return fake.wait_for(
        lambda: fake.calls("chat.postEphemeral")[before:], timeout=30, what="shortcut answer"
    )[0]
