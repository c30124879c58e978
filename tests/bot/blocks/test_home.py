"""The App Home tab."""

from __future__ import annotations

import json

from bot.blocks.home import DETAILS_NOTE, FALLBACK_NOTE, home_view
from tests.bot.blocks.samples import JOBS, METADATA, V2, job_record, running_job


def test_home_view_has_model_jobs_and_feedback() -> None:
    view = home_view(
        V2,
        METADATA,
        ("C1", "#support"),
        current=running_job(),
        jobs=JOBS,
        counts={"answers": 2, "corrections": 1, "confirmations": 1, "labelled_rows": 2},
    )
    body = json.dumps(view)
    assert view["type"] == "home" and V2 in body and "`positive`" in body
    assert "macro-F1 88.0%" in body and "#support" in body and "<#C1>" in body
    assert "#3 started by" in body and "#2 " in body and "#1 " in body
    assert "2 answers" in body and "/classify" in body
    empty = json.dumps(home_view(None, {}, ()))
    assert "`none`" in empty and "none yet" in empty and "no channels" in empty
    assert "*Feedback:*" not in empty


def test_home_view_stays_within_slacks_100_blocks() -> None:
    jobs = [job_record(i, "failed", message="x" * 280) for i in range(400, 0, -1)]
    view = home_view(V2, METADATA, (), jobs=jobs, details=True)
    assert len(view["blocks"]) <= 100
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in view["blocks"])


def test_the_home_help_names_the_configured_default_method() -> None:
    view = home_view(V2, METADATA, (), explain_method="attention")
    assert "Without it: `attention`, the default here." in json.dumps(view)


def test_failure_details_are_for_admins_only() -> None:
    jobs = [job_record(1, "failed", message="/srv/heed/train.csv:3: empty text")]
    warning = "the current model X cannot be loaded (OSError: /srv/heed/models/X)"
    member = json.dumps(home_view(V2, METADATA, (), jobs=jobs, warning=warning))
    assert "/srv/heed" not in member and FALLBACK_NOTE in member and DETAILS_NOTE in member
    assert ":x: #1" in member
    admin = json.dumps(home_view(V2, METADATA, (), jobs=jobs, warning=warning, details=True))
    assert "train.csv:3: empty text" in admin and "OSError" in admin
    assert DETAILS_NOTE not in admin
