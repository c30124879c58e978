"""The labelling queue end to end: the real bot process (tiny model) against the fake Slack.

Messages are classified and auto-tagged; ``/heed-admin queue`` shows a labeler the least
certain first with label controls and refuses anyone else; a labeler's answer through the
controls is recorded like any correction and the message leaves the queue; with
``HEED_QUEUE_DIGEST`` at a few seconds the digest DM arrives with the same controls, and an
answer from it is recorded too. Then a second replica joins on the same SQLite file: texts
asked about or shortcut in a private channel or a group DM never reach the queue or a digest,
and ``forget`` of an author whose message someone else classified through the shortcut leaves
no byte of it in either replica's data directory (database, WAL, exports), and deletes the
digest DMs that quoted it. An asker's answer is a suggestion: shown, queued first, absent
from the next export, until a labeler's answer decides; an author's appeal (the shortcut, the
modal) reaches the labelers the same way, the decision reaches the author by DM, and the audit
log holds each step.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import text as sql

from bot.blocks.appeal import REASON_BLOCK, REASON_INPUT
from bot.blocks.feedback import (
    CONFIRM_ACTION,
    CORRECT_ACTION,
    FEEDBACK_BLOCK_ID,
    NOT_A_LABELER,
    controls_id,
)
from bot.database import Database
from bot.handlers.appeal import APPEAL_LABEL
from classifier.uncertainty import margin
from tests.e2e.support import BotProcess, bot_env, make_store, start_socket_bot, wait_quiet
from tests.support.fakeslack import Call, FakeSlack

pytestmark = pytest.mark.e2e

ADMIN, LABELER, STRANGER = "UADMIN", "ULABEL", "USTRANGER"
TEXTS = ("the parcel came late again", "great support, thanks", "is anyone there")
SETTINGS = {
    "HEED_ADMINS": ADMIN,
    "HEED_LABELERS": LABELER,
    "HEED_AUTOTAG_CHANNELS": "C7",
    "HEED_QUEUE_DIGEST": "2s",
    "HEED_JOB_LEASE": "3",  # a reaper round (forget's tombstones) every second
}
SECRET = "my landlord's name is Zebulon Quibble"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("queue-bot")


@pytest.fixture(scope="module")
def bot(fake: FakeSlack, tiny_model: Path, workdir: Path) -> Iterator[BotProcess]:
    yield from start_socket_bot(
        fake, make_store(tiny_model, workdir / "models"), workdir / "bot", **SETTINGS
    )


@pytest.fixture(scope="module")
def replica_b(fake: FakeSlack, bot: BotProcess, workdir: Path) -> Iterator[BotProcess]:
    """A second replica on the same SQLite file and model store, with its own data directory;
    Socket Mode envelopes go to the newest connection: this one."""
    env = bot_env(
        **fake.env(),
        **SETTINGS,
        HEED_MODEL_DIR=str(workdir / "models"),
        HEED_DATA_DIR=str(workdir / "b" / "var"),
        HEED_DATABASE_URL=f"sqlite:///{workdir / 'bot' / 'var' / 'heed.sqlite3'}",
    )
    replica = BotProcess(env, workdir / "b")
    try:
        replica.wait_until(lambda: fake.connection_count >= 2, what="connected")
        yield replica
    finally:
        replica.stop()


@pytest.fixture(scope="module")
def db(workdir: Path, bot: BotProcess) -> Iterator[Database]:
    with closing(Database(workdir / "bot" / "var" / "heed.sqlite3")) as database:
        yield database


def queue(fake: FakeSlack, user: str) -> Call:
    before = len(fake.calls("response_url"))
    envelope = fake.send_slash_command("/heed-admin", "queue", user_id=user)
    assert fake.wait_for_ack(envelope, timeout=5).latency < 3
    return fake.wait_for(lambda: fake.calls("response_url")[before:], timeout=30)[0]


def listed(answer: Call) -> list[int]:
    prefix = controls_id(0)[:-1]
    return [
        int(b["block_id"][len(prefix) :])
        for b in answer.params.get("blocks") or []
        if b["type"] == "actions"
    ]


def test_the_queue_lists_the_least_certain_first_with_controls(
    fake: FakeSlack, bot: BotProcess, db: Database
) -> None:
    for n, text in enumerate(TEXTS):  # distinct users: the /classify rate limit is per user
        fake.send_slash_command("/classify", text, user_id=f"U{n + 10}")
    fake.send_message_event("where is my refund", user_id="UAUTHOR", channel_id="C7")
    fake.send_message_event("Where is   my refund", user_id="UAUTHOR", channel_id="C7")
    fake.wait_for(lambda: len(db.queue.top("default", 10)) == 4, timeout=60, what="4 queued")
    wait_quiet(fake)
    answer = queue(fake, LABELER)
    predictions = [db.predictions.get(pid) for pid in listed(answer)]
    # either spelling of the refund message may be recorded first: the other is a duplicate
    texts = sorted(" ".join(p.text.casefold().split()) for p in predictions)
    assert texts == sorted([*TEXTS, "where is my refund"]), texts
    unsure = [margin(p.scores.values()) for p in predictions]
    assert unsure == sorted(unsure, reverse=True)  # most uncertain first
    assert {p.source for p in predictions} == {"classify", "autotag"}
    body = json.dumps(answer.params["blocks"])
    assert "heed_feedback_confirm" in body and CORRECT_ACTION in body

    refused = queue(fake, STRANGER)
    assert refused.params["text"] == NOT_A_LABELER
    assert (db.audit.recent(1)[0].action, db.audit.recent(1)[0].allowed) == ("queue", False)


def test_a_labelers_answer_is_recorded_and_leaves_the_queue(fake: FakeSlack, db: Database) -> None:
    answer = queue(fake, LABELER)
    top = listed(answer)[0]
    [actions] = [b for b in answer.params["blocks"] if b.get("block_id") == controls_id(top)]
    predicted = db.predictions.get(top).label
    option = next(o for o in actions["elements"][1]["options"] if o["text"]["text"] != predicted)
    before = len(fake.calls("response_url"))
    fake.send_block_action(
        CORRECT_ACTION,
        user_id=LABELER,
        message_ts="1.1",  # the private list, ephemeral: Slack sends no message
        block_id=controls_id(top),
        selected_option=option,
    )
    refreshed = fake.wait_for(lambda: fake.calls("response_url")[before:], timeout=30)[0]
    assert top not in listed(refreshed) and len(listed(refreshed)) == 3
    assert f"Recorded: {option['text']['text']} by <@{LABELER}> (correction)" in json.dumps(
        refreshed.params["blocks"]
    )
    [stored] = db.predictions.answers_for(top)
    assert (stored.user, stored.role, stored.is_correction) == (LABELER, "labeler", True)
    assert db.queue.status(top) == "answered"
    assert top not in listed(queue(fake, LABELER))


def test_the_digest_dm_arrives_with_controls(fake: FakeSlack, db: Database) -> None:
    with db.read() as conn:
        answered = {
            row[0]
            for row in conn.execute(
                sql("SELECT prediction_id FROM label_queue WHERE status = 'answered'")
            )
        }
    assert answered
    since = len(fake.calls("chat.postMessage"))

    def digests() -> list[Call]:
        return [
            c
            for c in fake.calls("chat.postMessage")[since:]
            if c.params["channel"] == f"D{LABELER}" and "labelling digest" in c.params["text"]
        ]

    dm = fake.wait_for(digests, timeout=30, what="a digest DM")[0]  # periods of 2 s
    items = listed(dm)
    assert len(items) == 3 and not set(items) & answered
    unsure = [margin(db.predictions.get(pid).scores.values()) for pid in items]
    assert unsure == sorted(unsure, reverse=True)
    assert "heed_feedback_confirm" in json.dumps(dm.params["blocks"])
    pid = items[0]
    [actions] = [b for b in dm.params["blocks"] if b.get("block_id") == controls_id(pid)]
    confirm = actions["elements"][0]
    fake.send_block_action(
        confirm["action_id"],
        confirm["value"],
        user_id=LABELER,
        channel_id=dm.params["channel"],
        message_ts=dm.response["ts"],
        block_id=controls_id(pid),
    )
    update = fake.wait_for_call(
        "chat.update", lambda c: c.params["ts"] == dm.response["ts"], timeout=30
    )
    assert f"Recorded: {db.predictions.get(pid).label} by <@{LABELER}> (confirmed)" in json.dumps(
        update.params["blocks"]
    )
    assert [(a.user, a.role) for a in db.predictions.answers_for(pid)] == [(LABELER, "labeler")]
    assert db.queue.status(pid) == "answered"


def shortcut(
    fake: FakeSlack, text: str, channel: str, name: str, clicker: str, author: str
) -> None:
    """``clicker`` clicks "Classify with Heed" on ``author``'s message in ``channel``."""
    fake.send_interactive(
        {
            "type": "message_action",
            "callback_id": "heed_classify_message",
            "trigger_id": "1.T1.trigger",
            "user": {"id": clicker, "username": clicker.lower()},
            "channel": {"id": channel, "name": name},
            "message": {"type": "message", "user": author, "ts": "3.3", "text": text},
            "response_url": f"{fake.base_url}/response/shortcut",
        }
    )


def stored_texts(db: Database) -> list[str]:
    with db.read() as conn:
        return [row[0] for row in conn.execute(sql("SELECT text FROM predictions"))]


def digests_to(fake: FakeSlack, user: str, since: int = 0) -> list[Call]:
    return [
        c
        for c in fake.calls("chat.postMessage")[since:]
        if c.params["channel"] == f"D{user}" and "labelling digest" in c.params["text"]
    ]


def holding(folders: list[Path], needle: bytes) -> list[str]:
    return [
        str(p) for f in folders for p in f.rglob("*") if p.is_file() and needle in p.read_bytes()
    ]


def test_private_texts_stay_out_and_forget_leaves_no_byte_on_either_replica(
    fake: FakeSlack, db: Database, replica_b: BotProcess, workdir: Path
) -> None:
    since = len(fake.calls("chat.postMessage"))
    fake.set_channel("GSECRET", "secret", is_private=True)
    fake.set_channel("CGROUP", "mpdm-ana--bo-1", is_mpim=True)
    private = []
    for n, (channel, name) in enumerate([("GSECRET", "secret"), ("CGROUP", "mpdm-ana--bo-1")]):
        private += [f"whispered by command in {name}", f"whispered by shortcut in {name}"]
        fake.send_slash_command("/classify", private[-2], user_id=f"U3{n}", channel_id=channel)
        shortcut(fake, private[-1], channel, name, clicker=f"U4{n}", author=f"U5{n}")
    shortcut(fake, SECRET, "C1", "general", clicker=LABELER, author="UWRITER")
    fake.wait_for(lambda: {*private, SECRET} <= set(stored_texts(db)), timeout=60)

    def quoting_digests() -> list[Call]:
        return [c for c in digests_to(fake, LABELER, since) if "Zebulon" in json.dumps(c.params)]

    quoting = fake.wait_for(quoting_digests, timeout=30, what="a digest quoting the text")[0]
    listed = json.dumps(queue(fake, LABELER).params) + json.dumps(
        [c.params for c in digests_to(fake, ADMIN, since) + digests_to(fake, LABELER, since)]
    )
    assert "Zebulon" in listed and "whispered" not in listed
    assert not {i.prediction.text for i in db.queue.top("default", 50)} & set(private)

    data = [workdir / "bot" / "var", workdir / "b" / "var"]
    for n, folder in enumerate(data):  # each replica kept an export holding the text
        export = folder / "exports" / f"corrections-{n}.jsonl"
        export.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        export.write_text(json.dumps({"text": SECRET, "label": "neutral"}) + "\n")
    assert len(holding(data, b"Zebulon")) >= 3  # the database and both exports

    before = len(fake.calls("response_url"))
    fake.send_slash_command("/heed-admin", "forget <@UWRITER|writer>", user_id=ADMIN)  # to B
    [answer] = fake.wait_for(lambda: fake.calls("response_url")[before:], timeout=30)
    assert answer.params["text"].startswith(":wastebasket: Forgot <@UWRITER>: deleted 1 text")
    fake.wait_for(lambda: not holding(data, b"Zebulon"), timeout=30, what="no byte left")
    deleted = {(c.params["channel"], c.params["ts"]) for c in fake.calls("chat.delete")}
    assert (quoting.response["channel"], quoting.response["ts"]) in deleted
    assert SECRET not in stored_texts(db)


def item_controls(answer: Call, pid: int) -> list[dict]:
    [actions] = [b for b in answer.params["blocks"] if b.get("block_id") == controls_id(pid)]
    return actions["elements"]


def exported(fake: FakeSlack) -> str:
    """``/heed-admin export`` by the admin: the JSONL file's text ("" with no labelled rows)."""
    before = len(fake.uploads)
    envelope = fake.send_slash_command("/heed-admin", "export", user_id=ADMIN)
    assert fake.wait_for_ack(envelope, timeout=5).latency < 3
    fake.wait_for(lambda: [c for c in fake.calls("response_url") if "labelled" in c.params["text"]])
    uploads = fake.wait_for(
        lambda: (u := [x for x in fake.uploads[before:] if x.completed]) and len(u) == 2 and u,
        timeout=30,
    )
    return next(u.data.decode() for u in uploads if u.filename.endswith(".jsonl"))


def test_an_askers_answer_is_a_suggestion_until_a_labeler_decides(
    fake: FakeSlack, db: Database
) -> None:
    before = len(fake.calls("chat.postMessage"))
    fake.send_slash_command("/classify", "my order never came", user_id="U60")
    reply = fake.wait_for(
        lambda: [c for c in fake.calls("chat.postMessage")[before:] if c.params.get("blocks")],
        timeout=30,
    )[0]
    [actions] = [b for b in reply.params["blocks"] if b.get("block_id") == FEEDBACK_BLOCK_ID]
    confirm = actions["elements"][0]
    pid, label = int(confirm["value"]), db.predictions.get(int(confirm["value"])).label
    fake.send_block_action(
        CONFIRM_ACTION,
        confirm["value"],
        user_id="U60",  # the asker
        message_ts=reply.response["ts"],
        block_id=FEEDBACK_BLOCK_ID,
    )
    update = fake.wait_for_call("chat.update", lambda c: c.params["ts"] == reply.response["ts"])
    assert f"Suggested: {label} by <@U60>" in json.dumps(update.params["blocks"])  # shown
    answer = queue(fake, LABELER)
    assert listed(answer)[0] == pid  # queued first, marked
    assert f"suggested: *{label}* by <@U60>" in json.dumps(answer.params["blocks"])
    assert "my order never came" not in exported(fake)  # not a training row

    fake.send_block_action(
        CONFIRM_ACTION,
        str(pid),
        user_id=LABELER,
        message_ts="1.1",  # the private list, ephemeral: Slack sends no message
        block_id=controls_id(pid),
    )
    fake.wait_for(lambda: db.queue.status(pid) == "answered", timeout=30, what="decided")
    assert ("my order never came", label) in db.predictions.labelled_rows()
    assert '"my order never came"' in exported(fake)


def test_an_appeal_reaches_labelers_and_its_decision_the_author(
    fake: FakeSlack, db: Database
) -> None:
    author = "UAPPEAL"
    _, ts = fake.send_message_event("cancel my subscription today", user_id=author, channel_id="C7")
    tagged = fake.wait_for(lambda: db.predictions.find_by_message("C7", ts), timeout=60)
    fake.send_interactive(
        {
            "type": "message_action",
            "callback_id": APPEAL_LABEL,
            "trigger_id": "7.7.trigger",
            "user": {"id": author, "name": "appealer", "team_id": fake.team_id},
            "channel": {"id": "C7", "name": "support"},
            "message": {"type": "message", "user": author, "ts": ts, "text": "x"},
            "response_url": f"{fake.base_url}/response/appeal",
        }
    )
    modal = fake.wait_for_call("views.open", timeout=30).params["view"]
    reason = {REASON_BLOCK: {REASON_INPUT: {"type": "plain_text_input", "value": "not urgent"}}}
    fake.send_view_submission(modal, reason, user_id=author)
    fake.wait_for(lambda: db.appeals.open_for(tagged.id), timeout=30, what="the appeal filed")

    answer = queue(fake, LABELER)  # the appeal reaches the labelers, first
    assert listed(answer)[0] == tagged.id
    assert f'appealed by <@{author}>: \\"not urgent\\"' in json.dumps(answer.params["blocks"])
    select = item_controls(answer, tagged.id)[1]
    option = next(o for o in select["options"] if o["text"]["text"] != tagged.label)
    fake.send_block_action(
        CORRECT_ACTION,
        user_id=LABELER,
        message_ts="1.1",  # the private list, ephemeral: Slack sends no message
        block_id=controls_id(tagged.id),
        selected_option=option,
    )

    def told() -> list[str]:
        return [
            c.params["text"]
            for c in fake.calls("chat.postMessage")
            if c.params["channel"] in (author, f"D{author}") and "was accepted" in c.params["text"]
        ]

    [decision] = fake.wait_for(told, timeout=30, what="the decision DM")
    assert f"by <@{LABELER}>: the label is changed to *{option['text']['text']}*" in decision
    fake.wait_for(lambda: db.audit.recent(1)[0].action == "appeal_notice", timeout=30)
    steps = [(e.action, e.user, e.allowed) for e in reversed(db.audit.recent(5))]
    assert steps[0] == ("appeal", author, True) and steps[-3:] == [
        ("label", LABELER, True),
        ("appeal_decision", LABELER, True),
        ("appeal_notice", author, True),
    ]
