"""Slack message markup <-> plain text."""

from __future__ import annotations

import re
import unicodedata

_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")
_HALF_ENTITY = re.compile(r"&[a-z]{0,3}$")
_SCHEME = re.compile(r"\b([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_DOMAIN_DOT = re.compile(r"(?<=[a-z0-9])\.(?=[a-z]{2,}\b)", re.IGNORECASE)


def _link(match: re.Match[str]) -> str:
    target, label = match.group(1), match.group(2)
    if target.startswith(("@", "#")):
        return ("@" if target.startswith("@") else "#") + (label or target[1:])
    if target.startswith("!"):
        return "@" + (label or target[1:].split("^")[0])
    return label or target


def slack_to_plain(text: str) -> str:
    """What a person typed, from Slack's encoded form: ``<url|label>`` -> ``label``,
    ``<@U1>`` -> ``@U1``, ``<#C1|general>`` -> ``#general``, ``&lt;`` -> ``<`` etc."""
    text = _LINK.sub(_link, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def clean_input(text: str) -> str:
    """Text as Heed classifies and stores it: NFKC-normalised, every format character (Cf:
    zero-width spaces and joiners, bidi overrides, soft hyphens…) removed, stripped."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(c for c in folded if unicodedata.category(c) != "Cf").strip()


def escape_and_shorten(text: str, limit: int) -> str:
    """``text`` escaped for mrkdwn, *then* cut to ``limit`` characters with an ellipsis (never
    inside an ``&amp;``-style entity), so the escaped text itself fits ``limit``: escaping
    after cutting could make it up to five times longer than Slack allows."""
    escaped = escape_mrkdwn(text)
    if len(escaped) <= limit:
        return escaped
    return _HALF_ENTITY.sub("", escaped[: max(0, limit - 1)]).rstrip() + "…"


def _defanged_scheme(match: re.Match[str]) -> str:
    scheme = match.group(1)
    if scheme.lower() in ("http", "https"):
        scheme = scheme[0] + "xx" + scheme[3:]
    return f"{scheme}[://]"


def defang(text: str) -> str:
    """``text`` with its links made unclickable for reading, as threat reports write them:
    ``https://evil.example/x`` -> ``hxxps[://]evil[.]example/x``, ``a@b.com`` -> ``a@b[.]com``
    (Slack links a bare domain, even in plain text)."""
    return _DOMAIN_DOT.sub("[.]", _SCHEME.sub(_defanged_scheme, text))
