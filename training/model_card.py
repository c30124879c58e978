"""The model card (``README.md``) written into every version, after the Hugging Face convention.

YAML front matter (``library_name``, ``pipeline_tag``, ``base_model`` when known, ``tags``,
``metrics``) and then, for a person: the labels, the base model, the data files with their
sha256 and row counts, the training recipe and per-epoch history, the held-out metrics,
per-class scores and the confusion matrix (``confusion_matrix.png``), the calibration
(temperature, ECE before and after, ``reliability_diagram.png``), how to use it, what it is
for, and its limits (what the heatmap does and does not show). Everything comes from the
version's ``heed.json`` metadata, so the card says nothing ``heed.json`` does not.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

CARD_FILE = "README.md"

HEATMAP_CAVEAT = (
    "The heatmap is a hint about which words mattered, never proof of intent or a "
    "justification for a moderation decision."
)


def _yaml_str(value: str) -> str:
    """A YAML scalar for ``value`` (a JSON string is valid YAML and always safe)."""
    return json.dumps(value, ensure_ascii=False)


def _cell(value: object) -> str:
    """A Markdown table cell: pipes escaped, newlines flattened."""
    return str(value).replace("|", r"\|").replace("\n", " ")


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(map(_cell, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(_cell, row)) + " |" for row in rows]
    return lines


def _number(value: object, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "—"


def front_matter(meta: Mapping) -> list[str]:
    """The YAML block the Hugging Face hub and tools read."""
    lines = ["---", "library_name: transformers", "pipeline_tag: text-classification"]
    if meta.get("base_model_id"):
        lines.append(f"base_model: {_yaml_str(meta['base_model_id'])}")
    tags = ["heed", "text-classification"]
    if meta.get("model_type"):
        tags.append(str(meta["model_type"]))
    lines += ["tags:", *(f"- {_yaml_str(tag)}" for tag in tags)]
    lines += ["metrics:", "- accuracy", "- f1", "---"]
    return lines


def _summary(meta: Mapping) -> list[str]:
    labels = meta.get("labels", [])
    rows = meta.get("rows", {})
    return [
        f"# Heed text classifier `{meta.get('version', '?')}`",
        "",
        f"A `{meta.get('architecture', '?')}` model, fine-tuned by Heed from "
        f"**{meta.get('base_model', '?')}** to label a text as one of {len(labels)} classes: "
        + ", ".join(f"`{_cell(x)}`" for x in labels)
        + ". "
        f"Trained on {rows.get('train', '?')} rows, evaluated on {rows.get('eval', '?')} "
        f"held-out rows; created {meta.get('created', '?')}.",
    ]


def _labels(meta: Mapping) -> list[str]:
    counts = meta.get("label_counts", {})
    train, held = counts.get("train", {}), counts.get("eval", {})
    rows = [
        (i, label, train.get(label, "—"), held.get(label, "—"))
        for i, label in enumerate(meta.get("labels", []))
    ]
    return [
        "## Labels",
        "",
        "`config.json` maps these ids to labels (`id2label`):",
        "",
        *_table(("id", "label", "train rows", "eval rows"), rows),
    ]


def _base_model(meta: Mapping) -> list[str]:
    hub = meta.get("base_model_id")
    origin = f" (`{hub}` on the Hugging Face hub)" if hub else " (a local directory)"
    methods = meta.get("explain_methods") or []
    lines = [
        "## Base model",
        "",
        f"- Base: {meta.get('base_model', '?')}{origin}",
        f"- Architecture: `{meta.get('architecture', '?')}` (model type "
        f"`{meta.get('model_type', '?')}`)",
        f"- Explanations this architecture supports: {', '.join(methods) or '?'}",
    ]
    if methods and "attention" not in methods:
        lines.append(
            "  (it returns no attention weights, so `attention`, `rollout` and `attn-grad` are "
            "unavailable)"
        )
    return lines


def _data(meta: Mapping) -> list[str]:
    rows = [
        (
            f.get("role", "?"),
            Path(str(f.get("path", "?"))).name,
            f.get("rows", "—"),
            f"`{f.get('sha256', '?')}`",
        )
        for f in meta.get("data", [])
    ]
    return [
        "## Training data",
        "",
        *_table(("role", "file", "rows", "sha256"), rows),
        "",
        f"Evaluation rows: {meta.get('eval_split', '?')}. Full paths are in `heed.json`.",
    ]


def _training(meta: Mapping) -> list[str]:
    args = meta.get("training_args", {})
    recipe = [
        ("recipe", meta.get("recipe", "standard")),
        ("pooling", meta.get("pooling", "cls")),
        ("epochs", args.get("epochs")),
        ("best epoch (kept)", meta.get("best_epoch")),
        ("learning rate", args.get("lr")),
        ("head learning-rate multiplier", args.get("head_lr_scale")),
        ("batch size", args.get("batch_size")),
        ("max length (tokens)", args.get("max_length")),
        ("warm-up ratio", args.get("warmup_ratio")),
        ("weight decay", args.get("weight_decay")),
        ("word embeddings frozen", args.get("freeze_word_embeddings")),
        ("class weights", args.get("class_weights")),
        ("logit adjustment (tau)", args.get("logit_adjustment")),
        ("seed", args.get("seed")),
        ("device", meta.get("device")),
        ("training seconds", meta.get("train_seconds")),
    ]
    history = [
        (h.get("epoch"), _number(h.get("accuracy")), _number(h.get("macro_f1")))
        for h in meta.get("history", [])
    ]
    return [
        "## Training",
        "",
        *_table(("setting", "value"), [(k, "—" if v is None else v) for k, v in recipe]),
        "",
        *_table(("epoch", "eval accuracy", "eval macro-F1"), history),
        *_label_bias(meta),
    ]


def _label_bias(meta: Mapping) -> list[str]:
    bias = meta.get("label_bias")
    if not isinstance(bias, Mapping):
        return []
    tau = meta.get("training_args", {}).get("logit_adjustment", "?")
    return [
        "",
        f"**Logit adjustment** (Menon et al. 2021, tau = {tau}): every logit gets its label's "
        "bias, `-tau * log(share of the training rows)`, before the softmax, which lifts rare "
        "labels. The labels, confidences and held-out metrics of this card are the adjusted ones.",
        "",
        *_table(("label", "bias"), [(label, _number(b, 4)) for label, b in bias.items()]),
    ]


def _evaluation(meta: Mapping) -> list[str]:
    metrics = meta.get("metrics", {})
    per_class = metrics.get("per_class", {})
    labels = list(metrics.get("labels") or per_class or meta.get("labels", []))
    matrix = metrics.get("confusion_matrix", [])
    lines = [
        "## Evaluation (held-out rows)",
        "",
        f"Metrics from {meta.get('metrics_from', 'the eval rows')}.",
        "",
        *_table(
            ("accuracy", "macro-F1", "rows"),
            [
                (
                    _number(metrics.get("accuracy")),
                    _number(metrics.get("macro_f1")),
                    metrics.get("n", meta.get("rows", {}).get("eval", "—")),
                )
            ],
        ),
        "",
        *_table(
            ("label", "precision", "recall", "F1", "support"),
            [
                (
                    label,
                    _number(m.get("precision")),
                    _number(m.get("recall")),
                    _number(m.get("f1")),
                    m.get("support", "—"),
                )
                for label, m in per_class.items()
            ],
        ),
    ]
    if matrix and len(matrix) == len(labels):
        lines += [
            "",
            "Confusion matrix (rows: true label, columns: predicted):",
            "",
            *_table(
                ("true \\ predicted", *labels),
                [(label, *row) for label, row in zip(labels, matrix, strict=True)],
            ),
        ]
    lines += ["", "![Confusion matrix of the held-out evaluation](confusion_matrix.png)"]
    return lines


def _calibration(meta: Mapping) -> list[str]:
    c = meta.get("calibration")
    lines = ["## Calibration", ""]
    if not isinstance(c, Mapping):
        return [*lines, "This version has no temperature: its confidences are the plain softmax."]
    t = meta.get("temperature", c.get("temperature", 1.0))
    if c.get("calibrated"):
        lines.append(
            f"Every confidence this version reports is `softmax(logits / T)` with **T = {t:g}**, "
            f"fitted on the {c.get('rows', '?')} held-out rows by minimising their negative "
            "log-likelihood (temperature scaling). The label never changes, only how sure "
            "the model says it is."
        )
    else:
        lines.append(f"**Not calibrated: {c.get('reason', '?')}.** T = 1 (the plain softmax).")
    lines += [
        "",
        *_table(
            ("held-out rows", f"ECE ({c.get('bins', 15)} bins)", "NLL"),
            [
                (
                    "before (T = 1)",
                    _number(c.get("ece_before"), 4),
                    _number(c.get("nll_before"), 4),
                ),
                (
                    f"after (T = {t:g})",
                    _number(c.get("ece_after"), 4),
                    _number(c.get("nll_after"), 4),
                ),
            ],
        ),
        "",
        "ECE (expected calibration error) is the row-weighted gap between accuracy and mean "
        "confidence per confidence bin; 0 is perfect. It is measured on the rows T was "
        "fitted on, so the *after* figure is optimistic.",
    ]
    if c.get("reliability_diagram"):
        lines += ["", f"![Reliability diagram, before and after]({c['reliability_diagram']})"]
    return lines


def _usage(meta: Mapping) -> list[str]:
    version = meta.get("version", "VERSION")
    if meta.get("pooling") == "mean":  # transformers.pipeline would read the unused pooler
        python = [
            "from classifier import Classifier",
            "",
            "# mean-pooled (heed.json): load it with Heed, not transformers.pipeline",
            f'classify = Classifier.load("models/{version}", device="cpu")',
            'classify.predict(["The battery died after two days"])',
        ]
    else:
        python = [
            "from transformers import pipeline",
            "",
            "# this version's directory; the store is $HEED_MODEL_DIR (default ./models)",
            f'classify = pipeline("text-classification", model="models/{version}")',
            'classify("The battery died after two days")',
        ]
    return [
        "## How to use",
        "",
        "```python",
        *python,
        "```",
        "",
        "```bash",
        f'heed-classify predict "The battery died after two days" --model {version} '
        "--explain gradient",
        f"heed-classify promote {version}   # serve it in Slack",
        "```",
    ]


def _intended_use() -> list[str]:
    return [
        "## Intended use",
        "",
        "Triage help for people: Heed labels messages in Slack (on `/classify` and in the "
        "channels it auto-tags) and shows a heatmap of the words the model weighed, so that a "
        "moderator or support person can decide faster. A person makes every decision; the "
        "label is a suggestion, not a verdict about a person or their intent.",
    ]


def _limits(meta: Mapping) -> list[str]:
    args = meta.get("training_args", {})
    return [
        "## Limits",
        "",
        "- **The heatmap is a hint, not proof.** "
        + HEATMAP_CAVEAT
        + " Attention weights show where the model *looked*, not what *caused* the label "
        '(Jain & Wallace 2019, "Attention is not Explanation"; Wiegreffe & Pinter 2019, '
        '"Attention is not not Explanation"). Integrated gradients (`gradient`) add up to '
        "the change in the logit from the baseline, but depend on that baseline and say "
        "nothing about how words interact.",
        "- The model knows only the labels above and the kind of text in the data files: "
        "other topics, other languages than the base model's, slang or sarcasm it never saw "
        "are labelled with false confidence. The labels are only as consistent as whoever "
        "labelled the rows.",
        "- The held-out rows come from the same files as the training rows, so the metrics "
        "above are likely optimistic for new text.",
        "- The confidences are calibrated on those held-out rows: on text unlike the "
        "training data the model can again be over-confident. A confidence is not a "
        "probability that the person meant it.",
        f"- Texts longer than the model's limit are cut (training used "
        f"{args.get('max_length', '?')} tokens); the bot says when it classified a beginning "
        "only.",
        "- Versions are immutable: a retrain writes a new version with its own card.",
    ]


def model_card(meta: Mapping) -> str:
    """The whole card for a version's ``heed.json`` metadata ``meta``."""
    sections = [
        front_matter(meta),
        _summary(meta),
        _labels(meta),
        _base_model(meta),
        _data(meta),
        _training(meta),
        _evaluation(meta),
        _calibration(meta),
        _usage(meta),
        _intended_use(),
        _limits(meta),
    ]
    return "\n\n".join("\n".join(section) for section in sections) + "\n"


def write_model_card(directory: Path, meta: Mapping) -> Path:
    """Write ``README.md`` for ``meta`` into ``directory`` (a version's staging directory)."""
    path = directory / CARD_FILE
    path.write_text(model_card(meta), encoding="utf-8")
    return path
