"""``python -m classifier``: predict, models, promote and rollback, on the tiny random BERT."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from classifier.__main__ import _parser
from classifier.__main__ import main as classifier_main
from classifier.types import DEFAULT_EXPLAIN_METHOD
from tests.conftest import last_json


def add_version(store_dir: Path, model_dir: Path, name: str) -> str:
    """Put a copy of ``model_dir`` into the store as version ``name``."""
    shutil.copytree(model_dir, store_dir / name)
    return name


def test_predict_json_contract(capsys, tiny_model, store_dir, tmp_path) -> None:
    heatmap = tmp_path / "h.png"
    text = "The cable   arrived broken, awful!"
    args = ["predict", text, "--model", str(tiny_model), "--heatmap", str(heatmap), "--json"]
    for method in ("attention", "rollout", "gradient"):
        assert classifier_main([*args, "--explain", method]) == 0
        result = last_json(capsys.readouterr().out)
        assert set(result) >= {"label", "confidence", "scores", "model", "explanation"}
        assert result["scores"][result["label"]] == result["confidence"]
        assert sum(result["scores"].values()) == pytest.approx(1.0, abs=1e-5)
        explanation = result["explanation"]
        assert explanation["method"] == method
        assert explanation["words"] == ["The", "cable", "arrived", "broken,", "awful!"]
        assert len(explanation["weights"]) == 5
        assert sum(explanation["weights"]) == pytest.approx(1.0)
        assert heatmap.read_bytes().startswith(b"\x89PNG")


def test_predict_explains_with_the_default_method_unless_told(capsys, tiny_model, store_dir):
    args = ["predict", "broken and awful", "--model", str(tiny_model), "--json"]
    assert classifier_main(args) == 0
    explanation = last_json(capsys.readouterr().out)["explanation"]
    assert explanation["method"] == DEFAULT_EXPLAIN_METHOD == "attn-grad-mix"
    assert len(explanation["signed_weights"]) == 3  # attn-grad is signed: for and against


def test_models_promote_rollback(capsys, tiny_model, store_dir) -> None:
    first = add_version(store_dir, tiny_model, "20260101-000000-aaaaaa")
    second = add_version(store_dir, tiny_model, "20260101-000001-bbbbbb")
    assert classifier_main(["promote", first]) == 0
    assert classifier_main(["promote", second, "--json"]) == 0
    assert last_json(capsys.readouterr().out) == {"current": second}
    assert classifier_main(["models", "--json"]) == 0
    listing = last_json(capsys.readouterr().out)
    assert [v["version"] for v in listing["versions"]] == [first, second]
    assert [v["current"] for v in listing["versions"]] == [False, True]
    assert classifier_main(["models"]) == 0
    assert f"* {second}" in capsys.readouterr().out
    assert classifier_main(["rollback", "--json"]) == 0
    assert last_json(capsys.readouterr().out) == {"current": first, "previous": second}
    assert classifier_main(["rollback"]) == 2
    assert "nothing to roll back to" in capsys.readouterr().err


def test_unknown_model_exits_2(capsys, store_dir) -> None:
    assert classifier_main(["predict", "hello", "--model", "nope", "--json"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert classifier_main(["predict", "hello"]) == 2
    assert "no model is serving" in capsys.readouterr().err
    assert classifier_main(["promote", "20990101-000000-abcdef"]) == 2


def test_task_option_picks_the_task_store(capsys, tiny_model, store_dir) -> None:
    root_version = add_version(store_dir, tiny_model, "20260101-000000-aaaaaa")
    (store_dir / "support").mkdir(parents=True)
    task_version = add_version(store_dir / "support", tiny_model, "20260101-000001-bbbbbb")
    assert classifier_main(["promote", root_version]) == 0
    assert classifier_main(["promote", task_version, "--task", "support", "--json"]) == 0
    assert last_json(capsys.readouterr().out) == {"current": task_version}
    assert classifier_main(["models", "--task", "support", "--json"]) == 0
    listing = last_json(capsys.readouterr().out)
    assert listing["root"] == str(store_dir / "support") and listing["current"] == task_version
    assert classifier_main(["models", "--task", "default", "--json"]) == 0
    assert last_json(capsys.readouterr().out)["current"] == root_version
    assert classifier_main(["predict", "hi", "--task", "support", "--json"]) == 0
    assert last_json(capsys.readouterr().out)["model"] == task_version
    assert classifier_main(["rollback", "--task", "support"]) == 2
    assert classifier_main(["models", "--task", "current"]) == 2
    assert "task 'current'" in capsys.readouterr().err


def test_every_flag_says_what_it_does() -> None:
    """``--help`` documents every argument of every sub-command."""
    missing = []
    for action in _parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                sub.format_help()  # renders: no stray % in a help string
                missing += [
                    f"{name} {(a.option_strings or [a.dest])[0]}"
                    for a in sub._actions
                    if not (a.help or "").strip()
                ]
    assert missing == []


def test_predict_versus_explains_the_margin(capsys, tiny_model, store_dir, tmp_path) -> None:
    args = ["predict", "broken and awful", "--model", str(tiny_model), "--json"]
    assert classifier_main(args) == 0
    result = last_json(capsys.readouterr().out)
    assert result["explanation"]["versus"] is None
    scores = result["scores"]
    versus = sorted(scores, key=scores.get)[-2]
    heatmap = tmp_path / "why-not.png"
    assert classifier_main([*args, "--versus", versus, "--heatmap", str(heatmap)]) == 0
    explanation = last_json(capsys.readouterr().out)["explanation"]
    assert explanation["versus"] == versus
    assert len(explanation["signed_weights"]) == 3
    assert heatmap.read_bytes().startswith(b"\x89PNG")
    assert classifier_main([*args[:-1], "--versus", versus]) == 0
    assert f"not {versus}" in capsys.readouterr().out
    assert classifier_main([*args, "--versus", result["label"]]) == 2
    assert "contrast it with another label" in capsys.readouterr().err
    assert classifier_main([*args, "--versus", "spam"]) == 2
    assert "unknown label 'spam'" in capsys.readouterr().err
