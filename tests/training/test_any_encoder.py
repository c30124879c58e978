"""Heed is not tied to BERT: tiny random DistilBERT, XLM-RoBERTa and FNet encoders, built
locally (no download), go through the real ``training`` pipeline, and their versions predict,
explain (or say clearly which method they cannot), load in ``transformers.pipeline`` and carry
a model card."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from classifier import Classifier
from classifier.__main__ import main as classifier_main
from classifier.types import EXPLAIN_METHODS, ExplanationUnavailable
from tests.conftest import last_json, make_rows, write_csv
from tests.tiny_encoders import BUILDERS
from training.__main__ import main as training_main

yaml = pytest.importorskip("yaml")

TEXT = "The cable   arrived broken, awful!"
WORDS = ["The", "cable", "arrived", "broken,", "awful!"]
WITH_ATTENTIONS = ("distilbert", "xlm-roberta")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict, Path]]:
    """One version per architecture, trained 1 epoch through ``python -m training train``,
    each in its own store: ``{name: (version_dir, json_result, base_dir)}``."""
    root = tmp_path_factory.mktemp("encoders")
    export = write_csv(root / "export.csv", make_rows(30))
    versions = {}
    with pytest.MonkeyPatch.context() as patch:
        for name, build in BUILDERS.items():
            base = build(root / f"base-{name}")
            patch.setenv("HEED_MODEL_DIR", str(root / f"store-{name}"))
            args = ["train", "--data", str(export), "--base", str(base), "--promote", "--json"]
            args += ["--epochs", "1", "--batch-size", "8", "--max-length", "32"]
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert training_main(args) == 0, name
            result = last_json(out.getvalue())
            versions[name] = (Path(result["path"]), result, base)
    return versions


@pytest.mark.parametrize("name", WITH_ATTENTIONS)
def test_a_version_predicts_and_explains_with_every_method(trained, name: str) -> None:
    version_dir, result, _ = trained[name]
    assert result["promoted"] and result["labels"] == ["negative", "neutral", "positive"]
    classifier = Classifier.load(str(version_dir), device="cpu")
    assert classifier.architecture.startswith(("DistilBert", "XLMRoberta"))
    assert classifier.explain_methods() == EXPLAIN_METHODS
    [prediction] = classifier.predict([TEXT])
    assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=1e-5)
    for method in EXPLAIN_METHODS:
        explanation = classifier.explain(TEXT, method)
        assert explanation.words == WORDS, method
        assert sum(explanation.weights) == pytest.approx(1.0)
        assert len(explanation.layer_weights) == 2  # two layers' attention, every method
        assert explanation.prediction.scores == pytest.approx(prediction.scores, abs=1e-5)


def test_xlm_r_reads_512_less_its_position_offset(trained) -> None:
    classifier = Classifier.load(str(trained["xlm-roberta"][0]), device="cpu")
    assert classifier.max_length == 64  # max_position_embeddings 66 minus padding_idx + 1
    long = " ".join(["great"] * 200)
    assert classifier.predict([long])[0].truncated
    assert classifier.explain(long, "gradient").truncated


def test_an_architecture_without_attentions_says_which_methods_it_cannot(trained) -> None:
    classifier = Classifier.load(str(trained["fnet"][0]), device="cpu")
    assert classifier.explain_methods() == ("gradient", "gradient-upper")
    for method in ("attention", "rollout", "attn-grad"):
        with pytest.raises(ExplanationUnavailable) as caught:
            classifier.explain(TEXT, method)
        assert method in str(caught.value) and "FNetForSequenceClassification" in str(caught.value)
        assert "use gradient" in str(caught.value)
    for method in ("gradient", "gradient-upper"):
        explanation = classifier.explain(TEXT, method)
        assert explanation.words == WORDS and explanation.layer_weights == []
    meta = json.loads((trained["fnet"][0] / "heed.json").read_text())
    assert meta["explain_methods"] == ["gradient", "gradient-upper"]


def test_the_cli_says_which_method_an_architecture_cannot(trained, capsys) -> None:
    version_dir = str(trained["fnet"][0])
    assert classifier_main(["predict", TEXT, "--model", version_dir, "--explain", "rollout"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the rollout explanation needs attention weights")
    assert "FNetForSequenceClassification" in err
    args = ["predict", TEXT, "--model", version_dir, "--explain", "gradient", "--json"]
    assert classifier_main(args) == 0
    assert last_json(capsys.readouterr().out)["explanation"]["method"] == "gradient"


@pytest.mark.parametrize("name", BUILDERS)
def test_every_version_carries_a_model_card(trained, name: str) -> None:
    version_dir, result, _ = trained[name]
    card = (version_dir / "README.md").read_text(encoding="utf-8")
    _, front, body = card.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["library_name"] == "transformers"
    assert meta["pipeline_tag"] == "text-classification"
    assert name in meta["tags"]  # the model type: distilbert, xlm-roberta, fnet
    assert "base_model" not in meta  # a local random directory: origin unknown
    heed = json.loads((version_dir / "heed.json").read_text())
    assert heed["data"][0]["rows"] == 90 and heed["data"][0]["sha256"] in body
    assert f"# Heed text classifier `{result['version']}`" in body
    assert "![Confusion matrix" in body and "(confusion_matrix.png)" in body
    assert "| negative |" in body and "hint" in body and "## Intended use" in body


@pytest.mark.parametrize("name", WITH_ATTENTIONS)
def test_a_version_loads_in_the_transformers_pipeline(trained, name: str) -> None:
    from transformers import pipeline

    classify = pipeline("text-classification", model=str(trained[name][0]), device="cpu")
    [answer] = classify(TEXT)
    assert answer["label"] in {"negative", "neutral", "positive"}


def test_head_parameters_learn_faster_for_every_architecture(tmp_path: Path) -> None:
    from transformers import AutoModelForSequenceClassification

    from training.optimizer import head_prefixes, parameter_groups

    expected = {
        "distilbert": ("pre_classifier.", "classifier."),
        "xlm-roberta": ("classifier.",),
        "fnet": ("classifier.", "fnet.pooler."),
    }
    for name, build in BUILDERS.items():
        model = AutoModelForSequenceClassification.from_pretrained(
            build(tmp_path / name), num_labels=3
        )
        heads = head_prefixes(model)
        assert set(expected[name]) <= set(heads), name
        groups = parameter_groups(model, lr=1e-4, weight_decay=0.01, head_lr_scale=20)
        fast = {id(p) for g in groups if g["lr"] == pytest.approx(2e-3) for p in g["params"]}
        named = dict(model.named_parameters())
        assert {n for n, p in named.items() if id(p) in fast} == {
            n for n in named if n.startswith(heads)
        }


@pytest.mark.parametrize("name", BUILDERS)
def test_the_word_embeddings_stay_frozen_by_default(trained, name: str) -> None:
    from transformers import AutoModel, AutoModelForSequenceClassification

    version_dir, _, base = trained[name]
    before = AutoModel.from_pretrained(base).get_input_embeddings().weight
    after = AutoModelForSequenceClassification.from_pretrained(version_dir)
    assert after.get_input_embeddings().weight.equal(before)


def test_bert_keeps_its_pooler_and_classifier_as_the_head(tiny_base: Path) -> None:
    """The default recipe is unchanged: BERT's groups are exactly the former rule's."""
    from transformers import AutoModelForSequenceClassification

    from training.optimizer import head_prefixes, no_decay_names

    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_base, num_labels=3, ignore_mismatched_sizes=True
    )
    heads, no_decay = head_prefixes(model), no_decay_names(model)
    for name, _ in model.named_parameters():
        assert name.startswith(heads) == name.startswith(("classifier.", "bert.pooler.")), name
        former = any(key in name for key in ("bias", "LayerNorm.weight"))
        assert (name in no_decay) == former, name
