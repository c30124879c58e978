"""What Heed keeps, and for how long.

- Texts of predictions nobody answered are deleted after ``HEED_RETENTION_DAYS`` (default 90);
  answered ones stay, since they are training data (until ``/heed-admin forget``). The
  labelling queue stores no text of its own: its rows (and text hashes) are deleted with their
  prediction; digest claims go after the same number of days.
- Kept exports (``$HEED_DATA_DIR/exports/*.jsonl``, one per retrain) older than the same
  number of days are deleted; so are ``.staging-*`` folders a crashed training left in the
  model store, once older than the longest a retrain may run.
- All but the newest ``HEED_KEEP_VERSIONS`` model versions (default 10) are deleted, never the
  serving one nor the one a rollback would return to.
- ``/heed-admin forget @user`` deletes that person's texts and answers from the database and
  every line of the kept exports holding one of their texts.

:class:`Retention` runs from every replica's reaper about once an hour (each step is safe to
run twice). Everything here is created private to the bot's user (0600 files, 0700 folders:
the bot sets its umask at start-up).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.database import Database
from bot.database.exports import write_private
from bot.settings import Settings
from classifier.store import ModelStore

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077
STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class Swept:
    """What one :meth:`Retention.run` deleted."""

    predictions: int = 0
    exports: int = 0
    staging: int = 0
    versions: tuple[str, ...] = ()


class Retention:
    """Deletes what Heed no longer needs (see the module doc)."""

    def __init__(
        self,
        db: Database,
        store: ModelStore,
        *,
        days: int,
        keep_versions: int,
        exports_dir: Path | None,
        staging_grace_s: float,
    ) -> None:
        self.db, self.store = db, store
        self.max_age = timedelta(days=days)
        self.keep_versions = keep_versions
        self.exports_dir = exports_dir
        self.staging_grace_s = staging_grace_s

    def run(self, now: float | None = None) -> Swept:
        """One sweep: unanswered texts, old exports and staging folders, old versions."""
        now = time.time() if now is None else now
        predictions = self.db.predictions.prune_unlabelled(self.max_age)
        self.db.queue.prune_digests(self.max_age)
        exports = _remove_older(self._exports(), now - self.max_age.total_seconds())
        staging = _remove_older(
            [p for p in _children(self.store.root) if p.name.startswith(STAGING_PREFIX)],
            now - self.staging_grace_s,
        )
        versions = tuple(self.store.prune(self.keep_versions))
        swept = Swept(predictions, exports, staging, versions)
        if predictions or exports or staging or versions:
            log.info(
                "retention: deleted %d unanswered texts, %d exports, %d staging folders, "
                "versions %s",
                predictions,
                exports,
                staging,
                ", ".join(versions) or "none",
            )
        return swept

    def forget_in_exports(self, texts: frozenset[str]) -> int:
        """Remove every line holding one of ``texts`` from the kept exports; returns how many
        lines went."""
        removed = 0
        for path in self._exports():
            kept, dropped = [], 0
            for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
                try:
                    text = json.loads(line).get("text")
                except (ValueError, AttributeError):
                    text = None
                if text in texts:
                    dropped += 1
                else:
                    kept.append(line)
            if dropped:
                write_private(path, lambda handle, lines=kept: handle.write("".join(lines)))
                removed += dropped
        return removed

    def _exports(self) -> list[Path]:
        if self.exports_dir is None:
            return []
        return [p for p in _children(self.exports_dir) if p.suffix == ".jsonl" and p.is_file()]


def _children(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []


def _remove_older(paths: list[Path], cutoff: float) -> int:
    removed = 0
    for path in paths:
        try:
            if path.stat().st_mtime >= cutoff:
                continue
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
            removed += 1
        except OSError as exc:
            log.warning("retention: cannot delete %s: %s", path, exc)
    return removed


def private_files() -> None:
    """Make everything this process (and its children) creates private: 0600 / 0700."""
    os.umask(PRIVATE_UMASK)


def retention_for(settings: Settings, db: Database, store: ModelStore) -> Retention:
    """The :class:`Retention` these settings ask for."""
    return Retention(
        db,
        store,
        days=settings.retention_days,
        keep_versions=settings.keep_versions,
        exports_dir=settings.data_dir / "exports",
        staging_grace_s=settings.retrain_timeout + 3600,
    )
