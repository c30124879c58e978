"""Which rows train and which judge: --train-only rows never reach the eval rows."""

from __future__ import annotations

from pathlib import Path

from classifier.exports import eval_split, load_rows
from tests.conftest import last_json, make_rows, write_csv
from training.__main__ import main as training_main


def test_train_only_rows_are_learnt_from_and_never_judged_on(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "data.csv", make_rows(10))
    extra = write_csv(tmp_path / "corrections.csv", make_rows(10, seed=5))
    train, held = load_rows([data], None, seed=0, train_only=[extra])
    assert len(held) == 6 and len(train) == 24 + 30
    assert all(r.source.startswith(str(data)) for r in held)
    assert sum(r.source.startswith(str(extra)) for r in train) == 30
    fixed = write_csv(tmp_path / "eval.csv", make_rows(3, seed=9))
    train, held = load_rows([data], [fixed], seed=0, train_only=[extra])
    assert len(train) == 60 and len(held) == 9
    assert all(r.source.startswith(str(fixed)) for r in held)


def test_the_result_says_how_the_eval_rows_were_chosen() -> None:
    assert eval_split([Path("eval.csv")], 3) == "given"
    assert eval_split(None, 3) == "stratified 20% of --data (seed 3)"


def test_check_reports_rows_per_label_and_file_without_training(tmp_path: Path, capsys) -> None:
    data = write_csv(tmp_path / "data.csv", make_rows(5))
    extra = write_csv(tmp_path / "corrections.csv", make_rows(1, seed=2))
    assert training_main(["check", "--data", str(data), "--train-only", str(extra), "--json"]) == 0
    report = last_json(capsys.readouterr().out)
    assert report["ok"] and report["rows"] == {"train": 12 + 3, "eval": 3}
    assert report["label_counts"]["eval"] == {"negative": 1, "neutral": 1, "positive": 1}
    assert [(f["role"], f["rows"]) for f in report["files"]] == [("train", 15), ("train-only", 3)]
    assert report["eval_split"].startswith("stratified 20% of --data")
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\n,a\n", encoding="utf-8")
    assert training_main(["check", "--data", str(bad), "--json"]) == 2
    failure = last_json(capsys.readouterr().out)
    assert failure["error"]["kind"] == "data"
    assert failure["error"]["message"].startswith("invalid training data (")
    assert failure["error"]["problems"][0]["reason"] == "empty text"
