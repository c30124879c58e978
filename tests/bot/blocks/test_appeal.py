"""What appeals say: the modal (an optional reason, the prediction in its metadata), the
decision told to the author (upheld or changed, escaped), the limit."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.blocks.appeal import APPEAL_VIEW, REASON_BLOCK, appeal_modal, decision_line, rate_limited
from bot.database import Prediction
from bot.database.appeals import CHANGED, UPHELD, Appeal


def prediction(label: str = "complaint") -> Prediction:
    now = datetime.now(UTC)
    return Prediction(7, now, "C7", "UA", "x", label, 0.9, {}, "v1", None, "1.0", "autotag")


def test_the_modal_asks_an_optional_reason_for_this_prediction() -> None:
    modal = appeal_modal(prediction("<b>"))
    assert (modal["callback_id"], modal["private_metadata"]) == (APPEAL_VIEW, "7")
    [reason] = [b for b in modal["blocks"] if b.get("block_id") == REASON_BLOCK]
    assert reason["optional"] is True and reason["element"]["max_length"] == 500
    assert "*&lt;b&gt;*" in modal["blocks"][0]["text"]["text"]


def test_the_decision_names_who_and_what() -> None:
    now = datetime.now(UTC)
    upheld = Appeal(1, 7, "UA", now, "", UPHELD, "UL", "complaint")
    assert decision_line(upheld, prediction()) == (
        ":scales: Your appeal of Heed's label *complaint* on your message in <#C7> was *upheld* "
        "by <@UL>: the label stays *complaint*."
    )
    changed = Appeal(1, 7, "UA", now, "", CHANGED, "UL", "<question>")
    assert "the label is changed to *&lt;question&gt;*" in decision_line(changed, prediction())


def test_the_limit_is_explained() -> None:
    assert "3 appeals in the last day" in rate_limited(3)
    assert "turned off" in rate_limited(0)
