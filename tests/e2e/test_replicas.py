"""Two real bot processes (Socket Mode) on one fake Slack, one PostgreSQL and one model store.

In file order: the same event delivered to both replicas is tagged once; ``/heed-admin
retrain`` sent to both at once starts one job, the other admin is told which job runs, and
after its promotion both replicas answer with the new version; the old version, shadowing it,
predicts beside it on both replicas and Promote serves it again; then the replica running a
second job is killed with SIGKILL: a surviving replica reports the job interrupted within the
lease time, nothing is half-written, ``current`` is untouched and the next retrain starts.
"""

from __future__ import annotations

import json
import re
import shlex
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from bot.database import Database
from classifier.store import ModelStore
from tests.conftest import make_rows, write_csv
from tests.e2e.support import (
    REPO,
    VERSION,
    BotProcess,
    bot_env,
    make_store,
    run_bot,
    wait_quiet,
)
from tests.support.fakeslack import Call, FakeSlack
from tests.support.postgres import create_database
from tests.support.retrain import click_start, preview_for, request_retrain

pytestmark = pytest.mark.e2e

ADMIN_A, ADMIN_B = "UADMINA", "UADMINB"
LEASE_S = 3.0
JOB_S = 150.0


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("replicas")


@pytest.fixture(scope="module")
def database_url(postgres_server: str) -> str:
    """A fresh PostgreSQL database, migrated once with the documented command."""
    url = create_database(postgres_server, "heed_replicas")
    env = bot_env(HEED_DATABASE_URL=url)
    done = run_bot(env, REPO, "migrate")
    assert done.returncode == 0, done.stderr
    return url


@pytest.fixture(scope="module")
def store(tiny_model: Path, workdir: Path) -> Path:
    return make_store(tiny_model, workdir / "models")


@pytest.fixture(scope="module")
def train_data(workdir: Path) -> Path:
    return write_csv(workdir / "train.csv", make_rows(10))


@pytest.fixture(scope="module")
def replicas(
    fake: FakeSlack,
    database_url: str,
    store: Path,
    workdir: Path,
    train_data: Path,
    tiny_base: Path,
) -> Iterator[list[BotProcess]]:
    """Replica A (Socket Mode connection 0), then replica B (connection 1)."""
    started: list[BotProcess] = []
    try:
        for name in ("a", "b"):
            env = bot_env(
                **fake.env(),
                HEED_DATABASE_URL=database_url,
                HEED_MODEL_DIR=str(store),
                HEED_DATA_DIR=str(workdir / name / "var"),
                HEED_ADMINS=f"{ADMIN_A},{ADMIN_B}",
                HEED_AUTOTAG_CHANNELS="C1",
                HEED_TRAIN_DATA=str(train_data),
                HEED_RETRAIN_ARGS=(
                    f"--base {shlex.quote(str(tiny_base))} --epochs 3 --lr 2e-3 --batch-size 8 "
                    "--max-length 32"
                ),
                HEED_JOB_LEASE=str(LEASE_S),
            )
            bot = BotProcess(env, workdir / name)
            started.append(bot)
            wanted = len(started)
            bot.wait_until(lambda: fake.connection_count >= wanted, what="connected")  # noqa: B023
        yield started
    finally:
        fake.close_connections()
        for bot in started:
            bot.stop()


@pytest.fixture
def slack(fake: FakeSlack, replicas: list[BotProcess]) -> FakeSlack:
    wait_quiet(fake, 0.3)
    fake.reset()
    return fake


@pytest.fixture
def db(database_url: str, replicas: list[BotProcess]) -> Iterator[Database]:
    with closing(Database(database_url)) as database:
        yield database


def reactions(fake: FakeSlack, ts: str) -> list[Call]:
    return [c for c in fake.calls("reactions.add") if c.params.get("timestamp") == ts]


def test_the_same_event_to_both_replicas_is_tagged_once(slack: FakeSlack) -> None:
    first, ts = slack.send_message_event("the cable arrived on tuesday", connection=0)
    slack.redeliver(first, connection=1)  # Slack retries on the other replica
    slack.send_message_event("the cable arrived on tuesday", ts=ts, connection=1)  # new event id
    slack.wait_for(lambda: reactions(slack, ts), timeout=30, what="a reaction")
    wait_quiet(slack, 1.0)
    assert len(reactions(slack, ts)) == 1
    other, ts2 = slack.send_message_event("a second message", connection=1)
    slack.redeliver(other, connection=0)
    slack.wait_for(lambda: reactions(slack, ts2), timeout=30, what="a reaction")
    wait_quiet(slack, 1.0)
    assert len(reactions(slack, ts2)) == 1


def classify_version(fake: FakeSlack, connection: int) -> str:
    before = len(fake.calls("chat.postMessage"))
    fake.send_slash_command("/classify", "does the version match", connection=connection)
    [reply] = fake.wait_for(
        lambda: [c for c in fake.calls("chat.postMessage")[before:] if c.params.get("blocks")],
        timeout=30,
        what="a /classify reply",
    )
    match = re.search(r"model (\S+)$", reply.params["text"])
    assert match, reply.params["text"]
    return match.group(1)


def test_retrain_sent_to_both_starts_one_job_and_both_serve_its_promotion(
    slack: FakeSlack, store: Path, db: Database
) -> None:
    first = slack.send_slash_command("/heed-admin", "retrain", user_id=ADMIN_A, connection=0)
    second = slack.send_slash_command("/heed-admin", "retrain", user_id=ADMIN_B, connection=1)
    previews = [preview_for(slack, first), preview_for(slack, second)]
    click_start(slack, previews[0], ADMIN_A, connection=0)
    click_start(slack, previews[1], ADMIN_B, connection=1)
    refusal = slack.wait_for(
        lambda: [
            t
            for t in [c.params.get("text") or "" for c in slack.calls("response_url")]
            + [c.params.get("text") or "" for c in slack.calls("chat.update")]
            if "A job is already running (#" in t
        ],
        timeout=60,
        what="the other admin told which job runs",
    )[0]
    job_id = int(re.search(r"#(\d+)", refusal).group(1))
    evaluation = slack.wait_for_call(
        "chat.postMessage", lambda c: "*Accuracy:*" in json.dumps(c.params.get("blocks")), JOB_S
    )
    assert f"Retraining job #{job_id}*" in json.dumps(evaluation.params["blocks"])
    jobs = db.jobs.recent(10)
    assert [j.id for j in jobs] == [job_id] and jobs[0].status == "succeeded"
    new = ModelStore(store).current()
    assert new != VERSION and jobs[0].version == new
    deadline = time.monotonic() + 15
    while {classify_version(slack, 0), classify_version(slack, 1)} != {new}:
        assert time.monotonic() < deadline, "a replica still serves the old version"
        time.sleep(0.5)


def test_a_shadow_sees_traffic_on_both_replicas_and_promote_serves_it(
    slack: FakeSlack, store: Path, db: Database
) -> None:
    serving = ModelStore(store).current()
    assert serving != VERSION  # the retrain above promoted a new version: shadow the old one
    before = len(slack.calls("response_url"))
    slack.send_slash_command("/heed-admin", f"shadow {VERSION}", user_id=ADMIN_A, connection=0)
    slack.wait_for(lambda: [c for c in slack.calls("response_url")[before:]], timeout=30)
    time.sleep(6)  # past the 5 s a replica trusts its read of which version shadows
    for n in range(6):
        assert classify_version(slack, n % 2) == serving  # the shadow never answers
    pairs = slack.wait_for(
        lambda: len(p := db.shadows.pairs("default", VERSION)) == 6 and p,
        timeout=60,
        what="six shadow predictions",
    )
    agreed = sum(p.serving == p.shadow for p in pairs)
    before = len(slack.calls("response_url"))
    slack.send_slash_command("/heed-admin", "shadow", user_id=ADMIN_B, connection=1)
    [report] = slack.wait_for(
        lambda: [c for c in slack.calls("response_url")[before:] if c.params.get("blocks")],
        timeout=30,
    )
    body = json.dumps(report.params["blocks"])
    assert "*Seen:* 6 messages" in body and f"({agreed} of 6)" in body
    [actions] = [b for b in report.params["blocks"] if b["type"] == "actions"]
    promote = actions["elements"][0]
    slack.send_block_action(promote["action_id"], promote["value"], user_id=ADMIN_B, connection=1)
    slack.wait_for(lambda: ModelStore(store).current() == VERSION, timeout=30, what="promoted")
    deadline = time.monotonic() + 15
    while {classify_version(slack, 0), classify_version(slack, 1)} != {VERSION}:
        assert time.monotonic() < deadline, "a replica still serves the old version"
        time.sleep(0.5)
    assert db.shadows.current("default") is None


def test_a_replica_killed_mid_retrain_is_reported_and_the_next_retrain_starts(
    slack: FakeSlack, store: Path, train_data: Path, replicas: list[BotProcess], db: Database
) -> None:
    serving = ModelStore(store).current()
    versions = set(ModelStore(store).versions())
    good = train_data.read_bytes()
    write_csv(train_data, make_rows(3000))  # long enough to be killed mid-epoch
    try:
        request_retrain(slack, ADMIN_A, connection=0)
        slack.wait_for(
            lambda: [c for c in slack.calls("chat.update") if "training on" in c.params["text"]],
            timeout=JOB_S,
            what="the training's start event",
        )
        running = db.jobs.running()
        assert running is not None
        victim, survivor = replicas
        victim.proc.kill()
        victim.proc.wait(10)
        killed_at = time.monotonic()
        [report] = slack.wait_for(
            lambda: [
                c
                for c in slack.calls("chat.postMessage")
                if f"job #{running.id} was interrupted" in c.params["text"]
            ],
            timeout=60,
            what="the interrupted job reported by the survivor",
        )
        reported_after = time.monotonic() - killed_at
    finally:
        train_data.write_bytes(good)
    assert reported_after < 3 * LEASE_S + 2, reported_after
    assert "serving model is unchanged" in report.params["text"]
    assert db.jobs.get(running.id).status == "interrupted"
    time.sleep(LEASE_S)  # the orphaned training child stops itself when its stdin closes
    assert ModelStore(store).current() == serving
    assert set(ModelStore(store).versions()) == versions
    assert not list(store.glob(".staging-*"))

    request_retrain(slack, ADMIN_B, connection=-1)
    slack.wait_for(
        lambda: [c for c in slack.calls("chat.update") if "Retraining job #" in c.params["text"]],
        timeout=60,
        what="the next retrain starting on the survivor",
    )
    assert survivor.proc.poll() is None
