"""Stand-ins shared by the bot tests: a classifier without torch and a holder serving it."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

from sqlalchemy import select

from bot.database import Database
from bot.database.schema import queue_digests
from bot.listeners import build_request
from bot.retrain.runner import RetrainRunner
from bot.services import Request, Services
from bot.serving.holder import ModelHolder, TaskModels
from bot.settings import Settings
from classifier.store import ModelStore
from classifier.types import Explanation, ExplanationUnavailable, Prediction

PNG = b"\x89PNG\r\n\x1a\n"
VERSION = "20260101-000000-abcdef"
LABELS = ("negative", "neutral", "positive")


class StubClassifier:
    """Says ``label`` with ``confidence`` to everything; ``delay`` seconds per explain,
    one explain at a time (like the real eager pass); ``fail`` raises from explain;
    ``unavailable`` methods raise :class:`ExplanationUnavailable`, as for an architecture
    without attention weights."""

    def __init__(
        self,
        version: str = VERSION,
        label: str = "positive",
        confidence: float = 0.9,
        delay: float = 0.0,
        fail: bool = False,
        unavailable: tuple[str, ...] = (),
    ) -> None:
        self.version, self.label, self.confidence = version, label, confidence
        self.delay, self.fail, self.unavailable = delay, fail, unavailable
        self.labels = list(LABELS)
        self.max_length = 64
        self.predict_calls: list[list[str]] = []
        self.explained: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def prediction(self) -> Prediction:
        """The prediction it makes for any text."""
        rest = (1 - self.confidence) / (len(self.labels) - 1)
        scores = {label: self.confidence if label == self.label else rest for label in LABELS}
        return Prediction(self.label, self.confidence, scores, self.version)

    def predict(self, texts: list[str]) -> list[Prediction]:
        self.predict_calls.append(list(texts))
        return [self.prediction() for _ in texts]

    def explain(
        self, text: str, method: str = "attention", *, versus: str | None = None
    ) -> Explanation:
        if versus is not None:
            return self.contrast(text, method, versus)
        with self._lock:
            if self.fail:
                raise RuntimeError("internal detail that must not reach Slack")
            if method in self.unavailable:
                raise ExplanationUnavailable(method, "FNetForSequenceClassification")
            time.sleep(self.delay)
            self.explained.append((text, method))
        words = text.split()
        weights = [1 / len(words)] * len(words)
        return Explanation(method, words, weights, self.prediction())

    def contrast(self, text: str, method: str, versus: str) -> Explanation:
        """Why ``label``, not ``versus``: the first word for it, the others against."""
        if versus not in self.labels or versus == self.label:
            raise ValueError(f"cannot contrast {self.label!r} with {versus!r}")
        self.explained.append((text, f"{method} versus {versus}"))
        words = text.split()
        signed = [1.0 if i == 0 else -1.0 for i in range(len(words))]
        signed = [w / len(words) for w in signed]
        weights = [1.0] + [0.0] * (len(words) - 1)
        return Explanation(method, words, weights, self.prediction(), [], False, signed, versus)

    def explain_many(self, texts: list[str], method: str) -> list[Explanation]:
        return [self.explain(text, method) for text in texts]


def serving(stub: StubClassifier, root: Path) -> ModelHolder:
    """A loaded holder whose store (at ``root``) points at ``stub``'s version."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "current").write_text(stub.version + "\n")
    holder = ModelHolder(ModelStore(root), loader=lambda version, store: stub)
    holder.load()
    return holder


def settings(api_url: str | None = None, **kw: Any) -> Settings:
    """Socket Mode settings with test tokens."""
    return Settings(bot_token="xoxb-test", app_token="xapp-test", api_url=api_url, **kw)


def services_for(
    tmp_path: Path,
    stub: StubClassifier | None = None,
    *,
    db: Any = None,
    holder: ModelHolder | None = None,
    python: str = "/bin/false",
    data: tuple[Path, ...] = (),
    config: Settings | None = None,
    **kw: Any,
) -> Services:
    """Fully wired services on a throwaway SQLite database (``db``: another one, e.g. a
    failing double), serving ``stub`` (or ``holder``) as the default task, with a retrain
    runner per task that runs ``python`` (nothing, by default); ``config`` or settings
    made of ``kw``."""
    config = config or settings(**kw)
    models_dir = tmp_path / "models"
    holder = holder or serving(stub or StubClassifier(), models_dir)
    database = db if db is not None else Database(tmp_path / "var" / "heed.sqlite3")
    runners = {
        task.name: RetrainRunner(
            holder.store.root if task.name == config.tasks.default_name else task.model_dir,
            data,
            database,
            timeout_s=30,
            python=python,
            exports_dir=tmp_path / "var" / "exports",
            eval_files=kw.get("eval_data", ()),
            task=task.name,
        )
        for task in config.tasks
    }
    return Services(config, database, TaskModels(config.tasks, holder), runners)


def request_for(
    services: Services,
    body: dict[str, Any],
    client: Any = None,
    respond: Any = None,
    team: str | None = "T1",
    **fields: Any,
) -> Request:
    """The request the listener table builds for ``body`` (``team``: the installing
    workspace), with ``fields`` as an ack step would set them."""
    request = build_request(services, body, client or MagicMock(), respond or MagicMock())
    return replace(request, team=team, **fields)


def digest_outcomes(db: Database, task: str, period: str) -> dict[str, str | None]:
    """``user -> outcome`` of the digests of ``task`` in ``period`` (None: not finished)."""
    query = select(queue_digests.c.user, queue_digests.c.outcome).where(
        queue_digests.c.task == task, queue_digests.c.period == period
    )
    with db.read() as conn:
        return {row[0]: row[1] for row in conn.execute(query)}
