"""The active-learning benchmark's command line refuses bad settings before any training."""

from __future__ import annotations

import pytest
from active_learning import parse_args


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--pool", "100"], "--pool 100 is smaller than --start + --rounds x --batch"),
        (["--scores", "confidence"], "--scores confidence: use names from"),
        (["--datasets-list", "vader"], "--datasets-list vader: use names from"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--banking77-test", "50"], "--banking77-test must be at least 77"),
        ([], "--datasets DIR is required"),
    ],
)
def test_bad_settings_are_refused_with_a_message(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    monkeypatch.delenv("HEED_DATASETS", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_good_settings_parse(tmp_path) -> None:
    for rel in ("sst2/train.tsv", "sst2/dev.tsv"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("text\tlabel\n")
    args = parse_args(["--datasets", str(tmp_path), "--datasets-list", "sst2", "--seeds", "1"])
    assert args.datasets_list == ["sst2"]
    assert args.scores == ["margin"]
    assert args.datasets == tmp_path.resolve()
