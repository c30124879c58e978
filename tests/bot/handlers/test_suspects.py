"""``/heed-admin suspects`` in-process against the fake Slack, a shell script standing in for
``python -m training suspects``: labelers and admins get the list in their DM with Keep /
Change; a change is a trusted review that the next retrain passes as ``--overrides``; anyone
else, and a forged button, changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.blocks.suspects import CHANGE_ACTION, EXPORT_CHANGED, KEEP_ACTION, NOT_REVIEWER
from bot.database.schema import REVIEWED
from bot.retrain.runner import export_reviewed
from tests.bot.retrain.test_runner import fake_python, prints
from tests.conftest import write_csv
from tests.support.fakeslack import Call

LABELER, STRANGER = "ULABEL", "USTRANGER"
ROWS = [("great value", "positive"), ("awful, broke at once", "positive"), ("bad", "negative")]
ROWS += [("nice", "positive"), ("terrible", "negative"), ("good", "positive")]


def started(tmp_path: Path, heed: Any) -> tuple[Any, Path, Path]:
    """A Heed whose suspects run reports line 3 of its export (given positive) as negative."""
    export = write_csv(tmp_path / "export.csv", ROWS)
    args = tmp_path / "args.txt"
    result = {
        "ok": True,
        "rows": 3,
        "suspects": [
            {
                "file": str(export),
                "line": 3,
                "text": ROWS[1][0],
                "given": "positive",
                "suggested": "negative",
                "score": 0.93,
            }
        ],
    }
    body = f'echo "$@" > {args}\necho \'{{"event": "fold", "fold": 1, "folds": 5}}\' >&2\n'
    app = heed(
        python=fake_python(tmp_path, body + prints(result)),
        data=(export,),
        labelers=frozenset({LABELER}),
    )
    return app, export, args


def the_list(app: Any) -> Call:
    return app.fake.wait_for_call(
        "chat.postMessage", lambda c: bool(c.params.get("blocks")), timeout=20
    )


def click(app: Any, listing: Call, action: str, user: str = LABELER, value: str | None = None):
    [actions] = [b for b in listing.params["blocks"] if b["type"] == "actions"]
    button = next(e for e in actions["elements"] if e["action_id"] == action)
    before = len(app.fake.calls("response_url"))
    app.fake.send_block_action(
        action,
        value=value or button["value"],
        user_id=user,
        channel_id="DU1",
        block_id=actions["block_id"],
    )
    return app.fake.wait_for(lambda: app.fake.calls("response_url")[before:], timeout=10)[0]


def test_a_labeler_reviews_the_list_and_a_change_overrides_the_row(tmp_path, heed) -> None:
    app, export, args = started(tmp_path, heed)
    answer = app.admin("suspects", user=LABELER)
    assert "progress and the list come to your DM" in answer.params["text"]
    listing = the_list(app)
    assert "awful, broke at once" in json.dumps(listing.params["blocks"])
    assert args.read_text().split()[:3] == ["-m", "training", "suspects"]
    assert str(export) in args.read_text() and "--json" in args.read_text()

    changed = click(app, listing, CHANGE_ACTION)
    assert "now *negative*" in changed.params["text"]
    assert app.db.predictions.labelled_rows(sources=(REVIEWED,)) == [(ROWS[1][0], "negative")]
    assert app.db.predictions.labelled_rows(sources=("classify", "autotag")) == []
    reviewed = export_reviewed(app.db, "default", tmp_path)
    assert reviewed is not None
    request = app.services.runners["default"].request(None, overrides=reviewed)
    args = request.train_args()
    assert args[args.index("--overrides") + 1] == str(reviewed)
    report = request.check()  # the export row is relabelled, not added
    assert (report.train_rows + report.eval_rows, report.files[-1].role) == (6, "overrides")
    assert report.train_labels["negative"] + report.eval_labels["negative"] == 3
    [record] = [j for j in app.db.jobs.recent(5) if j.kind == "suspects"]
    assert record.status == "succeeded" and record.metrics["suspects"] == 1

    kept = click(app, listing, KEEP_ACTION)
    assert "Kept *positive*" in kept.params["text"]


def test_a_stranger_is_refused_and_a_forged_button_records_nothing(tmp_path, heed) -> None:
    app, _export, _args = started(tmp_path, heed)
    assert app.admin("suspects", user=STRANGER).params["text"] == NOT_REVIEWER
    app.admin("suspects", user=LABELER)
    listing = the_list(app)
    assert click(app, listing, CHANGE_ACTION, user=STRANGER).params["text"] == NOT_REVIEWER
    forged = json.dumps(
        {"task": "default", "export": 0, "line": 4, "given": "positive", "label": "negative"}
    )
    assert click(app, listing, CHANGE_ACTION, value=forged).params["text"] == EXPORT_CHANGED
    other_label = json.dumps(
        {"task": "default", "export": 0, "line": 3, "given": "positive", "label": "spam"}
    )
    assert click(app, listing, CHANGE_ACTION, value=other_label).params["text"] == EXPORT_CHANGED
    assert app.db.predictions.labelled_rows() == []
    audit = [(e.user, e.action, e.allowed) for e in app.db.audit.recent(10)]
    assert (STRANGER, "suspects", False) in audit
