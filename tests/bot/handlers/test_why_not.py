"""The "Why not …?" menu: under every /classify reply, the runner-up first; picking a label
answers privately with the contrastive words and DMs the heatmap; a click from another
conversation, for a label the model predicts or an unknown one, explains nothing."""

from __future__ import annotations

import json
from typing import Any

from bot.blocks.why_not import WHY_NOT_ACTION, WHY_NOT_BLOCK_ID


def menu(reply: Any) -> dict:
    [block] = [b for b in reply.params["blocks"] if b.get("block_id") == WHY_NOT_BLOCK_ID]
    return block["elements"][0]


def pick(app: Any, reply: Any, option: dict, channel: str | None = None, user: str = "U1") -> str:
    return app.fake.send_block_action(
        WHY_NOT_ACTION,
        user_id=user,
        channel_id=channel or reply.params["channel"],
        message_ts=reply.response["ts"],
        block_id=WHY_NOT_BLOCK_ID,
        selected_option=option,
    )


def test_the_menu_explains_the_margin_privately_with_the_heatmap_by_dm(heed: Any) -> None:
    app = heed()
    reply = app.classify("lovely strong battery")
    options = menu(reply)["options"]
    assert [o["text"]["text"] for o in options] == ["Why not negative?", "Why not neutral?"]
    pick(app, reply, options[1])
    answer = app.fake.wait_for_call("response_url", lambda c: "Why" in c.params["text"])
    body = json.dumps(answer.params["blocks"])
    assert answer.params["response_type"] == "ephemeral"
    assert "toward *positive*: lovely" in body and "toward *neutral*: strong, battery" in body
    app.fake.wait_for_call(
        "files.completeUploadExternal", lambda c: c.params.get("channel_id") == "DU1"
    )
    stub = app.services.models.holder("default").get()
    assert ("lovely strong battery", "attn-grad-mix versus neutral") in stub.explained


def test_clicks_that_do_not_belong_explain_nothing(heed: Any) -> None:
    app = heed()
    reply = app.classify("lovely strong battery")
    option = menu(reply)["options"][0]
    pick(app, reply, option, channel="C2")  # a doctored click from another conversation
    app.fake.wait_for_call("response_url", lambda c: "can't explain" in c.params["text"])
    forged = {**option, "value": option["value"].replace("negative", "positive")}
    pick(app, reply, forged)  # the label it predicts: no margin to explain
    app.fake.wait_for_call("response_url", lambda c: "can't answer" in c.params["text"])
    pick(app, reply, {**option, "value": "nonsense"})
    app.fake.wait_for(
        lambda: (
            len([c for c in app.fake.calls("response_url") if "can't explain" in c.params["text"]])
            == 2
        )
    )
    stub = app.services.models.holder("default").get()
    assert not [e for e in stub.explained if "versus" in e[1]]
