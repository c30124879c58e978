"""ModelStore: immutable model versions, a ``current`` pointer, atomic promote and rollback.

Layout under the root (``$HEED_MODEL_DIR``, default ``./models``)::

    20261126-191500-a1b2c3/   model.safetensors, config.json, tokenizer files, heed.json
    current                   one line: the serving version
    history.json              versions promoted, oldest first (rollback pops the last)
    .staging-*/               versions being written; renamed into place when complete

Every change of ``current``/``history.json`` goes through a temporary file and ``os.replace``
under an exclusive ``flock``, so readers never see a half-written pointer and concurrent
processes (the bot and a training child) never interleave.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MODEL_DIR_ENV = "HEED_MODEL_DIR"
VERSION_PATTERN = re.compile(r"\d{8}-\d{6}-[0-9a-f]{6}")
METADATA_FILE = "heed.json"
WEIGHTS_FILE = "model.safetensors"
DEFAULT_TASK = "default"
TASK_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,31}")
"""A task's name: never a version's (those start with a digit) nor ``current``."""
RESERVED_TASK_NAMES = frozenset({"current"})


class ModelNotFoundError(LookupError):
    """A model reference names no version, no pointer and no model directory."""


class StoreError(RuntimeError):
    """A store operation that cannot be carried out (e.g. nothing to roll back to)."""


class ServingChangedError(StoreError):
    """``current`` is no longer the version a promotion was judged against (a rollback or
    another promotion happened meanwhile); nothing was changed."""


class HistoryError(StoreError):
    """``history.json`` cannot be read as a list of versions (damaged or edited by hand)."""


@dataclass(frozen=True)
class ModelRef:
    """A resolved model: where it lives and the name it is reported under."""

    path: Path
    version: str


def _damaged(path: Path, why: str) -> str:
    return (
        f"the promotion history {path} is damaged ({why}); restore it from a backup, or write "
        'it as a JSON list of versions, oldest first (e.g. ["VERSION"])'
    )


SERVING_CHANGED = "the serving model changed during training"
UNCHECKED = object()
"""``promote``'s ``judged_against`` default: promote whatever serves now."""

DEFAULT_ROOT = Path("models")
"""The store root when ``HEED_MODEL_DIR`` is unset (the CLIs read the variable:
:func:`classifier.cli_support.model_dir`)."""


def task_problem(name: str) -> str | None:
    """Why ``name`` cannot name a task, or None when it can."""
    if not TASK_PATTERN.fullmatch(name):
        return "must be 1-32 of a-z, 0-9, _ and -, starting with a letter"
    if name in RESERVED_TASK_NAMES:
        return f"must not be {name!r} (the store's pointer file)"
    return None


def task_root(root: Path | str, task: str) -> Path:
    """The store of ``task`` under the store root: ``default`` is the root itself (a store made
    before tasks existed keeps serving), any other task ``ROOT/<task>``; raises ValueError for
    a bad name."""
    problem = task_problem(task)
    if problem is not None:
        raise ValueError(f"task {task!r} {problem}")
    return Path(root) if task == DEFAULT_TASK else Path(root) / task


def is_model_dir(path: Path) -> bool:
    """True when ``path`` holds a loadable safetensors model."""
    return (path / "config.json").is_file() and (path / WEIGHTS_FILE).is_file()


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def read_metadata(path: Path) -> dict:
    """The ``heed.json`` of the model directory ``path``: empty when it is missing, unreadable
    or not a JSON object (an old or hand-made model directory). The one reader of a version's
    settings (pooling, temperature)."""
    try:
        meta = json.loads((path / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


class ModelStore:
    """Versions of fine-tuned models on disk, with the serving pointer."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else DEFAULT_ROOT

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def versions(self) -> list[str]:
        """All complete versions, oldest first (same-second versions by publication time)."""
        if not self.root.is_dir():
            return []
        complete = [
            entry
            for entry in self.root.iterdir()
            if VERSION_PATTERN.fullmatch(entry.name) and is_model_dir(entry)
        ]
        complete.sort(key=lambda entry: (entry.name[:15], entry.stat().st_mtime_ns))
        return [entry.name for entry in complete]

    def current(self) -> str | None:
        """The serving version, or None when nothing was promoted yet."""
        try:
            name = (self.root / "current").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def history(self) -> list[str]:
        """Versions promoted so far, oldest first; the last is ``current``. Raises
        :class:`HistoryError`, saying what to do, when ``history.json`` is damaged."""
        path = self.root / "history.json"
        try:
            history = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return [self.current()] if self.current() else []
        except (ValueError, OSError) as exc:
            raise HistoryError(_damaged(path, type(exc).__name__)) from None
        if not isinstance(history, list) or not all(isinstance(v, str) for v in history):
            raise HistoryError(_damaged(path, "not a list of versions"))
        return history

    def path(self, version: str) -> Path:
        """The directory of ``version`` (which must exist)."""
        path = self.root / version
        if not VERSION_PATTERN.fullmatch(version) or not is_model_dir(path):
            raise ModelNotFoundError(f"no model version {version!r} in {self.root}")
        return path

    def metadata(self, version: str) -> dict:
        """The ``heed.json`` of ``version`` (empty when the file is missing)."""
        try:
            return json.loads((self.path(version) / METADATA_FILE).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def resolve(self, ref: str | None = "current") -> ModelRef:
        """Resolve ``current``, a version name or a model directory into a :class:`ModelRef`."""
        ref = ref or "current"
        if ref == "current":
            name = self.current()
            if name is None:
                raise ModelNotFoundError(
                    f"no model is serving in {self.root}: train one with "
                    "`python -m training train --data FILE --promote` (or `make demo`)"
                )
            return ModelRef(self.path(name), name)
        if VERSION_PATTERN.fullmatch(ref) and is_model_dir(self.root / ref):
            return ModelRef(self.root / ref, ref)
        candidate = Path(ref).expanduser()
        if is_model_dir(candidate):
            meta_version = ""
            with contextlib.suppress(FileNotFoundError, ValueError):
                meta = json.loads((candidate / METADATA_FILE).read_text(encoding="utf-8"))
                meta_version = str(meta.get("version", ""))
            return ModelRef(candidate, meta_version or candidate.resolve().name)
        raise ModelNotFoundError(
            f"unknown model {ref!r}: not 'current', a version in {self.root}, "
            "nor a directory with config.json and model.safetensors"
        )

    @contextlib.contextmanager
    def new_version(self) -> Iterator[tuple[str, Path]]:
        """Yield ``(version, staging_dir)``; on a clean exit the directory becomes the version.

        Any exception (a crash, Ctrl-C) removes the staging directory, so no half-written
        version is ever visible.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        version = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        staging = self.root / f".staging-{version}"
        staging.mkdir()
        try:
            yield version, staging
            if not is_model_dir(staging):
                raise StoreError(f"refusing to publish {version}: no safetensors model written")
            os.rename(staging, self.root / version)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    def promote(self, version: str, *, judged_against: object = UNCHECKED) -> None:
        """Make ``version`` the serving model (atomically) and record it in the history.

        The version is checked under the store lock (a prune cannot delete it in between).
        With ``judged_against`` (the ``current`` a training compared it with, None when nothing
        served), raises :class:`ServingChangedError` when ``current`` differs now: a rollback
        made during the training is not overwritten."""
        with self._locked():
            self.path(version)
            if judged_against is not UNCHECKED and self.current() != judged_against:
                raise ServingChangedError(
                    f"{SERVING_CHANGED} (it was {judged_against}, it is {self.current()}); "
                    f"{version} was not promoted"
                )
            history = [v for v in self.history() if v]
            if history and history[-1] == version:
                return
            history.append(version)
            _write_atomic(self.root / "history.json", json.dumps(history, indent=1) + "\n")
            _write_atomic(self.root / "current", version + "\n")

    def prune(self, keep: int, also_keep: Iterable[str] = ()) -> list[str]:
        """Delete all but the newest ``keep`` versions — never ``current``, the version a
        rollback would return to, nor those in ``also_keep`` (e.g. a shadow) — and drop the
        deleted ones from the history, so a later rollback skips to the newest surviving
        version. Returns the deleted versions."""
        with self._locked():
            versions = self.versions()
            history = [v for v in self.history() if v]
            newest = versions[-keep:] if keep > 0 else []
            protected = {self.current(), *history[-2:], *newest, *also_keep}
            doomed = [v for v in versions if v not in protected]
            for version in doomed:
                shutil.rmtree(self.root / version, ignore_errors=True)
            if doomed and (self.root / "history.json").exists():
                kept = [v for v in history if v not in doomed]
                _write_atomic(self.root / "history.json", json.dumps(kept, indent=1) + "\n")
        return doomed

    def rollback(self) -> tuple[str, str]:
        """Serve the previously promoted version again; returns ``(from, to)``."""
        with self._locked():
            history = [v for v in self.history() if v]
            if len(history) < 2:
                raise StoreError("nothing to roll back to: only one version was ever promoted")
            previous, target = history[-1], history[-2]
            self.path(target)
            _write_atomic(self.root / "history.json", json.dumps(history[:-1], indent=1) + "\n")
            _write_atomic(self.root / "current", target + "\n")
        return previous, target
