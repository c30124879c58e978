"""Every new version carries its temperature, ECE before/after and a reliability diagram
(``heed.json``, the card, the result), and is served with that temperature."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from classifier import Classifier, ModelStore
from classifier.exports import Example
from tests.conftest import make_rows, write_csv
from training.calibration import T_BOUNDS, calibration_report
from training.config import TrainConfig
from training.pipeline import RELIABILITY_FILE, calibrate, drift_reference, run_train

TINY = TrainConfig(epochs=2, batch_size=8, max_length=32, lr=5e-3)


@pytest.fixture(scope="module")
def trained(tiny_base: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    root = tmp_path_factory.mktemp("store")
    data = write_csv(root.parent / "export.csv", make_rows(30))
    result = run_train(
        [data], store=ModelStore(root), config=TINY, device=torch.device("cpu"), base=str(tiny_base)
    )
    return result, root


def test_the_version_records_its_temperature_and_ece_before_and_after(trained) -> None:
    result, _ = trained
    version_dir = Path(result["path"])
    meta = json.loads((version_dir / "heed.json").read_text())
    c = meta["calibration"]
    assert meta["temperature"] == c["temperature"] == result["calibration"]["temperature"]
    assert T_BOUNDS[0] <= c["temperature"] <= T_BOUNDS[1]
    assert c["rows"] == meta["rows"]["eval"] == 18 and c["bins"] == 15
    assert set(c) >= {"ece_before", "ece_after", "nll_before", "nll_after", "calibrated", "reason"}
    if c["calibrated"]:
        assert c["nll_after"] <= c["nll_before"] + 1e-9
    else:
        assert c["temperature"] == 1.0 and c["reason"]
    png = version_dir / RELIABILITY_FILE
    assert c["reliability_diagram"] == RELIABILITY_FILE
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_the_card_shows_the_calibration_beside_the_confusion_matrix(trained) -> None:
    result, _ = trained
    card = (Path(result["path"]) / "README.md").read_text(encoding="utf-8")
    evaluation, calibration = card.index("## Evaluation"), card.index("## Calibration")
    assert evaluation < calibration < card.index("## How to use")
    section = card[calibration : card.index("## How to use")]
    assert f"![Reliability diagram, before and after]({RELIABILITY_FILE})" in section
    assert "before (T = 1)" in section and "ECE (15 bins)" in section


def test_the_served_version_applies_the_fitted_temperature(trained) -> None:
    result, root = trained
    served = Classifier.load(result["version"], store=ModelStore(root), device="cpu")
    t = result["calibration"]["temperature"]
    assert served.temperature == t
    texts = ["great love it", "awful broken refund"]
    expected = (served.logits(texts) / t).softmax(-1)
    for prediction, probs in zip(served.predict(texts), expected, strict=True):
        assert list(prediction.scores.values()) == pytest.approx(probs.tolist(), abs=1e-6)


def test_too_few_held_out_rows_are_not_calibrated_and_say_why(trained, tmp_path: Path) -> None:
    result, root = trained
    probe = Classifier.load(result["version"], store=ModelStore(root), device="cpu")
    labels = probe.labels
    few = [Example(text, label, f"x.csv:{i}") for i, (text, label) in enumerate(make_rows(1))]
    report, logits = calibrate(probe, labels, few, tmp_path)
    assert logits.shape == (3, len(labels))
    assert report["temperature"] == 1.0 and not report["calibrated"]
    assert report["reason"] == "3 held-out rows (at least 10 needed)"
    assert (tmp_path / RELIABILITY_FILE).is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    report, _ = calibrate(probe, labels, [], empty)
    assert report["reason"].startswith("0 held-out rows") and report["ece_before"] is None
    assert report["reliability_diagram"] is None and not list(empty.iterdir())


def test_the_report_of_no_rows_is_t_1() -> None:
    report = calibration_report(torch.empty(0, 3), [])
    assert report["temperature"] == 1.0 and report["rows"] == 0 and report["nll_after"] is None


def test_a_few_shot_refit_is_calibrated_on_its_estimates_held_out_logits(tmp_path: Path) -> None:
    class RefitLearntTheRows:
        def logits(self, texts):
            raise AssertionError("the refit has seen the held-out rows: its logits must not fit T")

    labels = ["negative", "positive"]
    rows = [Example(f"text {i}", labels[i % 2]) for i in range(40)]
    # over-confident estimate: right on 30 of 40 rows with margins of 6
    held = torch.tensor(
        [[3.0, -3.0] if (i % 2 == 0) == (i < 30) else [-3.0, 3.0] for i in range(40)]
    )
    report, logits = calibrate(RefitLearntTheRows(), labels, rows, tmp_path, "v", held_logits=held)
    assert logits is held
    assert report["calibrated"] and report["temperature"] > 1.0
    assert report == {**calibration_report(held, [i % 2 for i in range(40)]), **report}
    assert "estimate" in report["fitted_on"]
    assert (tmp_path / RELIABILITY_FILE).read_bytes().startswith(b"\x89PNG")


def test_the_version_records_what_it_predicts_on_the_held_out_rows(trained) -> None:
    result, root = trained
    meta = ModelStore(root).metadata(result["version"])
    ref = meta["drift_reference"]
    assert ref["rows"] == result["rows"]["eval"]
    assert set(ref["labels"]) == set(result["labels"])
    assert sum(ref["labels"].values()) == pytest.approx(1.0)
    assert len(ref["confidence"]) == 10 and sum(ref["confidence"]) == pytest.approx(1.0)


def test_drift_reference_shares_follow_the_calibrated_top_class() -> None:
    logits = torch.tensor([[2.0, 0.0], [0.0, 2.0], [0.0, 5.0]])
    ref = drift_reference(logits, ["a", "b"], temperature=1.0)
    assert ref["labels"] == pytest.approx({"a": 1 / 3, "b": 2 / 3})
    assert ref["confidence"][8] == pytest.approx(2 / 3)  # softmax(2, 0) = 0.88
    assert ref["confidence"][9] == pytest.approx(1 / 3)  # softmax(5, 0) = 0.99
    assert drift_reference(torch.empty(0, 2), ["a", "b"], 1.0)["rows"] == 0
