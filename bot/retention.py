"""What Heed keeps, and for how long: an hourly sweep (safe to run twice) expires unanswered texts,
exports, crashed staging folders, old audit entries and old versions, and applies every forget's
tombstones to the kept exports; files are private (:data:`PRIVATE_UMASK`)."""

from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.database import Database
from bot.database.exports import write_private
from bot.database.forgetting import text_sha256
from bot.settings import Settings
from classifier.store import ModelStore

log = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077


@dataclass(frozen=True)
class Swept:
    """What one :meth:`Retention.run` deleted."""

    predictions: int = 0
    exports: int = 0
    staging: int = 0
    versions: tuple[str, ...] = ()
    audit: int = 0


@dataclass(frozen=True)
class Retention:
    """Deletes what Heed no longer needs (see the module doc)."""

    db: Database
    store: ModelStore
    days: int
    keep_versions: int
    exports_dir: Path
    staging_grace_s: float
    audit_days: int = 365
    task: str = "default"
    """Whose store this is: its shadow version (``/heed-admin shadow``) is never pruned."""

    def run(self, now: float | None = None) -> Swept:
        """One sweep: unanswered texts (then the database scrubbed of them), old exports, every
        tombstone applied (old ones pruned), staging folders, old versions."""
        now = time.time() if now is None else now
        max_age = timedelta(days=self.days)
        predictions = self.db.predictions.prune_unlabelled(max_age)
        self.db.queue.prune_digests(max_age)
        audit = self.db.audit.prune(timedelta(days=self.audit_days))
        exports = _remove_older(_exports(self.exports_dir), now - max_age.total_seconds())
        self.db.forgetting.prune_tombstones(max_age)  # older exports were just removed
        drop_forgotten(_exports(self.exports_dir), self.db.forgetting.tombstones()[1])
        staging = _remove_older(
            [p for p in _children(self.store.root) if p.name.startswith(".staging-")],
            now - self.staging_grace_s,
        )
        shadow = self.db.shadows.current(self.task)
        versions = tuple(
            self.store.prune(self.keep_versions, also_keep=[shadow.version] if shadow else [])
        )
        if predictions:
            self.db.scrub()  # no copy of the expired texts left in the database's files
        if predictions or exports or staging or versions or audit:
            log.info(
                "retention: deleted %d unanswered texts, %d exports, %d staging folders, "
                "%d audit entries, versions %s",
                predictions,
                exports,
                staging,
                audit,
                ", ".join(versions) or "none",
            )
        return Swept(predictions, exports, staging, versions, audit)


def forget_in_exports(exports_dir: Path, texts: frozenset[str]) -> int:
    """Remove every line holding one of ``texts`` from the kept exports; how many went."""
    return drop_forgotten(_exports(exports_dir), frozenset(map(text_sha256, texts)))


@dataclass(eq=False)
class TombstoneSweep:
    """Applies the tombstones other replicas' forgets left to this replica's kept exports:
    every one on the first call, then the new ones (call it often: it reads one index)."""

    db: Database
    exports_dir: Path
    _after: int = field(default=0, init=False)

    def __call__(self) -> int:
        """Apply the tombstones newer than the last call's; how many export lines went."""
        newest, hashes = self.db.forgetting.tombstones(self._after)
        removed = drop_forgotten(_exports(self.exports_dir), hashes) if hashes else 0
        self._after = newest
        if removed:
            log.info("forget: removed %d lines of the kept exports", removed)
        return removed


def drop_forgotten(paths: Iterable[Path], hashes: frozenset[str]) -> int:
    """Rewrite (privately, atomically) each JSONL file without the lines whose text's SHA-256
    is in ``hashes``; how many lines went."""
    removed = 0
    for path in paths if hashes else ():
        kept, dropped = [], 0
        for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
            try:
                text = json.loads(line).get("text")
            except (ValueError, AttributeError):
                text = None
            if isinstance(text, str) and text_sha256(text) in hashes:
                dropped += 1
            else:
                kept.append(line)
        if dropped:
            write_private(path, lambda handle, lines=kept: handle.write("".join(lines)))
            removed += dropped
    return removed


def _exports(folder: Path) -> list[Path]:
    return [p for p in _children(folder) if p.suffix == ".jsonl" and p.is_file()]


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


def exports_dir(settings: Settings) -> Path:
    """Where this replica keeps exports (each retrain's corrections)."""
    return settings.data_dir / "exports"


def retention_for(
    settings: Settings, db: Database, store: ModelStore, task: str = "default"
) -> Retention:
    """The :class:`Retention` these settings ask for, of ``task``'s ``store``."""
    return Retention(
        db,
        store,
        settings.retention_days,
        settings.keep_versions,
        exports_dir(settings),
        staging_grace_s=settings.retrain_timeout + 3600,
        audit_days=settings.audit_days,
        task=task,
    )
