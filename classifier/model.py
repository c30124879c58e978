"""Classifier: a fine-tuned encoder loaded once, batched prediction and per-text explanations.

Any architecture ``AutoModelForSequenceClassification`` knows works (BERT, DistilBERT,
XLM-RoBERTa, DeBERTa, ...). Prediction runs on the SDPA fast path where the architecture has
one. Explanations need attention weights, which SDPA does not return (transformers 5 gives
``attentions == ()``), so ``explain`` uses an eager twin of the model that shares every
parameter tensor with it: no second copy of the weights. An architecture that returns no
attention weights at all (e.g. FNet) explains with ``gradient`` and ``gradient-upper`` only;
the attention-based methods raise :class:`~classifier.types.ExplanationUnavailable`.
Forward passes are read-only and safe from many threads; the tokenizer and the explainer's
hooks are guarded by locks. ``attn-grad`` and ``attn-grad-mix`` need no lock:
:meth:`Classifier.explain_many` explains a batch of texts in one forward + backward pass.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from transformers import (
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from classifier.contrast import check_versus, contrast_target, label_index
from classifier.device import pick_device
from classifier.encoding import (
    Encoded,
    collate,
    encode,
    length_sorted_batches,
    token_budget_batches,
)
from classifier.explain import (
    attention_rollout,
    cls_attention_per_layer,
    integrated_gradients,
    last_layer_attention,
    merge_signed,
    merge_to_words,
    split_words,
    token_word_index,
)
from classifier.gradients import GradientPass, attention_x_gradient, gradient_pass
from classifier.label_bias import BadLabelBias, adjusted, check_label_bias, label_bias_of
from classifier.pooling import model_class, pooling_of
from classifier.store import ModelNotFoundError, ModelStore
from classifier.temperature import BadTemperature, calibrated, check_temperature, temperature_of
from classifier.tokenizers import SharedTokenizers
from classifier.types import (
    ATTENTION_METHODS,
    DEFAULT_EXPLAIN_METHOD,
    EXPLAIN_METHODS,
    ONE_PASS_METHODS,
    SIGNED_METHODS,
    Explanation,
    ExplanationUnavailable,
    Prediction,
)
from classifier.upper_gradients import UPPER_IG_STEPS, upper_integrated_gradients

log = logging.getLogger(__name__)

# 8 Gauss-Legendre steps measure as faithful as 16 (benchmarks/README.md) at half the cost.
DEFAULT_IG_STEPS = 8
# Integrated gradients cost ~ steps x tokens; long texts get fewer steps (never under 4) so a
# 200-word text costs about what a 40-word one does.
IG_TOKEN_BUDGET = 512
MIN_IG_STEPS = 4
# A one-pass (attn-grad) batch keeps every layer's attention weights and their gradients, which
# grow with tokens squared: at most this many padded tokens per pass (4 texts of 512 tokens).
ONE_PASS_TOKEN_BUDGET = 2048


def load_model_dir(
    path: Path,
    *,
    attn_implementation: str | None = None,
    tokenizers: SharedTokenizers | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """Load a fine-tuned model directory (safetensors only) and its tokenizer.

    Any sequence-classification architecture; without ``attn_implementation`` transformers
    picks SDPA where the architecture supports it, else eager. With ``tokenizers`` the
    tokenizer object is shared with earlier models whose tokenizer files are identical.
    """
    model = model_class(str(path), pooling_of(path)).from_pretrained(
        path, attn_implementation=attn_implementation, use_safetensors=True, local_files_only=True
    )
    if tokenizers is not None:
        return model, tokenizers.get(path)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return model, tokenizer


def position_limit(model: PreTrainedModel) -> int:
    """The most tokens (specials included) ``model`` can read in one text.

    ``max_position_embeddings``, less the offset RoBERTa-style embeddings (XLM-R, RoBERTa)
    start their positions at (``padding_idx + 1``), so XLM-R's 514 gives 512.
    """
    limit = int(getattr(model.config, "max_position_embeddings", None) or 512)
    embeddings = getattr(model.base_model, "embeddings", None)
    padding_idx = getattr(embeddings, "padding_idx", None)
    if isinstance(padding_idx, int) and padding_idx >= 0:
        limit -= padding_idx + 1
    return limit


def architecture(model: torch.nn.Module) -> str:
    """The model's class name, e.g. ``DistilBertForSequenceClassification`` (for messages)."""
    return type(model).__name__


class Classifier:
    """Label texts with a fine-tuned encoder and explain single predictions."""

    def __init__(
        self,
        model: PreTrainedModel,
        tokenizer: PreTrainedTokenizerBase,
        *,
        version: str,
        device: torch.device | str | None = None,
        max_length: int | None = None,
        batch_size: int = 32,
        temperature: float = 1.0,
        label_bias: Mapping[str, float] | None = None,
    ) -> None:
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.version = version
        self.batch_size = batch_size
        limit = position_limit(model)
        self.max_length = min(max_length or limit, limit)
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        # Labels and probabilities: softmax((logits + label_bias) / temperature) (both checked).
        self.temperature = check_temperature(temperature)
        self.label_bias = check_label_bias(label_bias, self.labels)
        self.architecture = architecture(model)
        self._eager: PreTrainedModel | None = None
        # None until the first explanation shows whether this architecture returns them.
        self._has_attentions: bool | None = None
        self._explain_lock = threading.Lock()
        self._twin_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        ref: str | None = "current",
        *,
        store: ModelStore | None = None,
        device: str | None = None,
        tokenizers: SharedTokenizers | None = None,
    ) -> Classifier:
        """Load ``current``, a store version or a model directory, for inference only
        (``tokenizers``: share the tokenizer with other loaded models where identical), with
        the temperature and label bias its ``heed.json`` records (1.0 and none without)."""
        resolved = (store or ModelStore()).resolve(ref)
        try:
            temperature, bias = temperature_of(resolved.path), label_bias_of(resolved.path)
            model, tokenizer = load_model_dir(resolved.path, tokenizers=tokenizers)
            model.requires_grad_(False)
            settings = {"temperature": temperature, "label_bias": bias}
            loaded = cls(model, tokenizer, version=resolved.version, device=device, **settings)
        except (OSError, BadTemperature, BadLabelBias) as exc:
            raise ModelNotFoundError(f"cannot load model at {resolved.path}: {exc}") from exc
        log.info(
            "loaded model %s from %s (temperature %g)", loaded.version, resolved.path, temperature
        )
        return loaded

    def _logits(self, rows: Sequence[Encoded], model: torch.nn.Module, **kwargs: object):
        batch = {
            k: v.to(self.device) for k, v in collate(rows, self.tokenizer.pad_token_id).items()
        }
        return model(**batch, **kwargs)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Classify ``texts`` in length-grouped batches; results keep the input order.
        Confidences and scores are calibrated: ``softmax(logits / self.temperature)``."""
        if isinstance(texts, str):
            raise TypeError("predict takes a sequence of texts; wrap a single text in a list")
        rows = encode(self.tokenizer, texts, self.max_length)
        probs = calibrated(self._raw_logits(rows), self.temperature)
        return [self._prediction(p, row.truncated) for p, row in zip(probs, rows, strict=True)]

    def logits(self, texts: Sequence[str]) -> torch.Tensor:
        """The uncalibrated logits of ``texts`` (rows x labels, float32 on the CPU, input
        order) plus the label bias: what labels are the argmax of and a temperature is fitted on."""
        if isinstance(texts, str):
            raise TypeError("logits takes a sequence of texts; wrap a single text in a list")
        if not texts:
            return torch.zeros(0, len(self.labels))
        return self._raw_logits(encode(self.tokenizer, texts, self.max_length))

    def _raw_logits(self, rows: Sequence[Encoded]) -> torch.Tensor:
        out = torch.zeros(len(rows), len(self.labels))
        batches = length_sorted_batches([len(r.input_ids) for r in rows], self.batch_size)
        with torch.inference_mode():
            for batch in batches:
                logits = self._logits([rows[i] for i in batch], self.model).logits
                out[batch] = logits.float().cpu()
        return adjusted(out, self.label_bias)

    def _prediction(self, probs: torch.Tensor, truncated: bool) -> Prediction:
        values = probs.tolist()
        best = max(range(len(values)), key=values.__getitem__)
        return Prediction(
            label=self.labels[best],
            confidence=values[best],
            scores=dict(zip(self.labels, values, strict=True)),
            model=self.version,
            truncated=truncated,
        )

    def _eager_twin(self) -> PreTrainedModel:
        """A copy of the module tree in eager attention that shares all tensors with ours
        (the model itself when it already runs eager, or has no attention to switch)."""
        with self._twin_lock:
            if self._eager is None:
                self._eager = self._make_eager_twin()
        return self._eager

    def _make_eager_twin(self) -> PreTrainedModel:
        if getattr(self.model.config, "_attn_implementation", None) == "eager":
            return self.model
        shared = {id(t): t for t in (*self.model.parameters(), *self.model.buffers())}
        twin = copy.deepcopy(self.model, memo=shared)
        try:
            twin.set_attn_implementation("eager")
        except (ValueError, NotImplementedError) as exc:
            log.info("%s has no eager attention (%s); explaining with it as is", self, exc)
            return self.model
        return twin

    def explain_methods(self) -> tuple[str, ...]:
        """The methods this model can explain with: all of :data:`EXPLAIN_METHODS`, or only
        ``gradient`` when the architecture returns no attention weights (one eager pass on a
        two-word text finds out, the first time it is not yet known)."""
        if self._has_attentions is None:
            with contextlib.suppress(ExplanationUnavailable):
                self.explain("probe text", "attention")
        if self._has_attentions is False:
            return tuple(m for m in EXPLAIN_METHODS if m not in ATTENTION_METHODS)
        return EXPLAIN_METHODS

    def __repr__(self) -> str:
        return f"Classifier({self.version!r}, {self.architecture})"

    def explain(
        self,
        text: str,
        method: str = DEFAULT_EXPLAIN_METHOD,
        *,
        steps: int | None = None,
        versus: str | None = None,
    ) -> Explanation:
        """Predict ``text`` and attribute the prediction to its words with ``method``
        (:data:`~classifier.types.DEFAULT_EXPLAIN_METHOD` unless told). With ``versus`` (a
        label), explain the margin between the predicted label and that one instead: "why
        this, not ``versus``" (signed methods only). ``steps``: integrated gradients' steps
        (default :data:`DEFAULT_IG_STEPS`, ``UPPER_IG_STEPS`` for ``gradient-upper``).

        Raises :class:`ExplanationUnavailable` for an attention-based method when the
        architecture returns no attention weights (``gradient`` always works), and
        ``ValueError`` for an unknown ``versus`` or one the model predicts.
        """
        if method in ONE_PASS_METHODS:
            return self.explain_many([text], method, versus=versus)[0]
        self._check(text, method, versus)
        row = encode(self.tokenizer, [text], self.max_length)[0]
        with self._explain_lock:
            model = self._eager_twin()
            with torch.inference_mode():
                out = self._logits([row], model, output_attentions=True)
            attentions = [a[0].float().cpu() for a in (out.attentions or ()) if a is not None]
            self._has_attentions = bool(attentions)
            if method in ATTENTION_METHODS and not attentions:
                raise ExplanationUnavailable(method, self.architecture)
            probs = calibrated(out.logits[0], self.temperature, self.label_bias).cpu()
            prediction = self._prediction(probs, row.truncated)
            if method == "attention":
                scores = last_layer_attention(attentions)
            elif method == "rollout":
                scores = attention_rollout(attentions)
            else:
                target = contrast_target(self.labels, prediction.label, versus)
                contrast = label_index(self.labels, versus)
                scores = self._gradient(model, row, method, target, steps, contrast)
        return self._explanation(text, method, row, prediction, scores, attentions, versus)

    def explain_many(
        self, texts: Sequence[str], method: str, *, versus: str | None = None
    ) -> list[Explanation]:
        """Explain ``texts`` with ``method`` (contrasted with label ``versus`` when given, as
        :meth:`explain`), in input order. The one-pass methods
        (:data:`~classifier.types.ONE_PASS_METHODS`) run one forward + backward pass per
        length-grouped batch of at most :data:`ONE_PASS_TOKEN_BUDGET` padded tokens, without a
        lock; the others explain one text at a time."""
        if isinstance(texts, str):
            raise TypeError("explain_many takes a sequence of texts")
        if method not in ONE_PASS_METHODS:
            return [self.explain(text, method, versus=versus) for text in texts]
        for text in texts:
            self._check(text, method, versus)
        rows = encode(self.tokenizer, texts, self.max_length)
        results: list[Explanation | None] = [None] * len(rows)
        model = self._eager_twin()
        lengths = [len(r.input_ids) for r in rows]
        contrast = label_index(self.labels, versus)
        for batch in token_budget_batches(lengths, ONE_PASS_TOKEN_BUDGET):
            passes = self._gradient_pass([rows[i] for i in batch], model, contrast)
            for i, one in zip(batch, passes, strict=True):
                results[i] = self._one_pass_explanation(texts[i], method, rows[i], one, versus)
        return [r for r in results if r is not None]

    def _check(self, text: str, method: str, versus: str | None = None) -> None:
        if method not in EXPLAIN_METHODS:
            raise ValueError(f"unknown explanation method {method!r}: use one of {EXPLAIN_METHODS}")
        if not text.strip():
            raise ValueError("cannot explain an empty text")
        if method in ATTENTION_METHODS and self._has_attentions is False:
            raise ExplanationUnavailable(method, self.architecture)
        check_versus(method, self.labels, versus)

    def _gradient_pass(
        self, rows: Sequence[Encoded], model: PreTrainedModel, versus: int | None
    ) -> list[GradientPass]:
        batch = collate(rows, self.tokenizer.pad_token_id)
        ids, mask = batch["input_ids"].to(self.device), batch["attention_mask"].to(self.device)
        return gradient_pass(model, ids, mask, versus)

    def _one_pass_explanation(
        self, text: str, method: str, row: Encoded, one: GradientPass, versus: str | None
    ) -> Explanation:
        self._has_attentions = bool(one.attentions)
        if method in ATTENTION_METHODS and not one.attentions:
            raise ExplanationUnavailable(method, self.architecture)
        probs = calibrated(one.logits, self.temperature, self.label_bias)
        prediction = self._prediction(probs, row.truncated)
        contrast_target(self.labels, prediction.label, versus)
        mix = method == "attn-grad-mix"
        scores = attention_x_gradient(one.attentions, one.attention_grads, mix)
        return self._explanation(text, method, row, prediction, scores, one.attentions, versus)

    def _explanation(
        self,
        text: str,
        method: str,
        row: Encoded,
        prediction: Prediction,
        scores: torch.Tensor,
        attentions: Sequence[torch.Tensor],
        versus: str | None = None,
    ) -> Explanation:
        """Merge token ``scores`` (and per-layer [CLS] attention) into the typed words."""
        words, starts = split_words(text)
        token_words = token_word_index(row.offsets, starts)
        seen = max((w for w in token_words if w is not None), default=-1) + 1
        per_layer = cls_attention_per_layer(attentions) if attentions else []
        return Explanation(
            method=method,
            words=words[:seen],
            weights=merge_to_words(scores, token_words, seen),
            prediction=prediction,
            layer_weights=[merge_to_words(layer, token_words, seen) for layer in per_layer],
            truncated=row.truncated,
            signed_weights=merge_signed(scores, token_words, seen)
            if method in SIGNED_METHODS
            else [],
            versus=versus,
        )

    def _gradient(
        self,
        model: PreTrainedModel,
        row: Encoded,
        method: str,
        target: int,
        steps: int | None,
        versus: int | None = None,
    ) -> torch.Tensor:
        batch = collate([row], self.tokenizer.pad_token_id)
        ids = batch["input_ids"].to(self.device)
        baseline = torch.full_like(ids, self.tokenizer.pad_token_id)
        baseline[0, 0], baseline[0, -1] = ids[0, 0], ids[0, -1]
        if method == "gradient-upper":
            steps = steps or UPPER_IG_STEPS
            return upper_integrated_gradients(model, ids, baseline, target, steps, versus).cpu()
        mask = batch["attention_mask"].to(self.device)
        steps = steps or DEFAULT_IG_STEPS
        steps = max(min(steps, IG_TOKEN_BUDGET // ids.shape[1]), min(steps, MIN_IG_STEPS))
        scores = integrated_gradients(model, ids, mask, target, baseline, steps, versus)
        return scores.float().cpu()
