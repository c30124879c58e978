"""What a dry run on a channel's history would have done, counted without acting or storing:
the label distribution, what several thresholds would tag, notify and abstain on, and a few
examples per label (kept in memory for the report only)."""

from __future__ import annotations

import heapq
import re
from collections import Counter
from dataclasses import dataclass, field

from bot.tasks import Task
from classifier.types import Prediction

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)
EXAMPLES = 2  # the most confident per label, and the least confident one besides
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>|([CG][A-Z0-9]+)")
_COUNT = re.compile(r"[0-9]{1,6}")  # up to 999999 messages or days


@dataclass(frozen=True)
class DryRunArgs:
    """``dry-run #channel [--days N | --messages N] [--heatmaps] [TASK]``, parsed; ``error``
    says what was wrong (then nothing runs)."""

    channel: str = ""
    days: int | None = None
    messages: int | None = None
    heatmaps: bool = False
    task: str | None = None
    error: str | None = None


def parse_dry_run(text: str, task_names: list[str]) -> DryRunArgs:
    """Parse the arguments of ``/heed-admin dry-run`` (in any order)."""
    words, values = text.split(), {}
    channel, task, heatmaps = "", None, False
    while words:
        word = words.pop(0)
        lower = word.lower()
        if lower in ("--days", "--messages"):
            if not words or not _COUNT.fullmatch(words[0]) or int(words[0]) < 1:
                return DryRunArgs(error=f"{lower} needs a whole number of at least 1")
            values[lower] = int(words.pop(0))
        elif lower == "--heatmaps":
            heatmaps = True
        elif match := _CHANNEL.fullmatch(word):
            channel = match.group(1) or match.group(2)
        elif lower in task_names:
            task = lower
        elif word.startswith("#"):
            return DryRunArgs(error=f"pick {word[:40]} from Slack's suggestions (a link to it)")
        else:
            return DryRunArgs(error=f"'{word[:40]}' is not a channel, a task or an option")
    if not channel:
        return DryRunArgs(error="dry-run needs a channel: `/heed-admin dry-run #channel`")
    if len(values) > 1:
        return DryRunArgs(error="give --days or --messages, not both")
    days, messages = values.get("--days"), values.get("--messages")
    return DryRunArgs(channel, days, messages, heatmaps, task)


@dataclass(frozen=True)
class Example:
    """One message shown in the report (its text lives only as long as the report)."""

    confidence: float
    text: str
    ts: str


@dataclass(frozen=True)
class Outcomes:
    """How many messages a setting would tag (react), notify (flag) and abstain on."""

    tagged: int = 0
    notified: int = 0
    abstained: int = 0


@dataclass
class Tally:
    """The counts of one dry run, for ``task``'s settings and each of :data:`THRESHOLDS`."""

    task: Task
    labels: Counter[str] = field(default_factory=Counter)
    skipped: int = 0
    _confidences: list[tuple[str, float]] = field(default_factory=list)
    _top: dict[str, list[tuple[float, str, str]]] = field(default_factory=dict)
    _bottom: dict[str, tuple[float, str, str]] = field(default_factory=dict)

    @property
    def classified(self) -> int:
        """How many messages were classified."""
        return sum(self.labels.values())

    def add(self, prediction: Prediction, text: str, ts: str) -> None:
        """Count one classified message."""
        label, confidence = prediction.label, prediction.confidence
        self.labels[label] += 1
        self._confidences.append((label, confidence))
        top = self._top.setdefault(label, [])
        heapq.heappush(top, (confidence, ts, text))
        if len(top) > EXAMPLES:
            heapq.heappop(top)
        bottom = self._bottom.get(label)
        if bottom is None or confidence < bottom[0]:
            self._bottom[label] = (confidence, ts, text)

    def now(self) -> Outcomes:
        """What the task's own settings (per-label thresholds, ``abstain_below``) would do."""
        task, tagged, notified, abstained = self.task, 0, 0, 0
        for label, confidence in self._confidences:
            if task.abstains(confidence):
                abstained += 1
                continue
            tagged += task.emoji_for(label) is not None
            notified += task.should_notify(label, confidence)
        return Outcomes(tagged, notified, abstained)

    def at(self, threshold: float) -> Outcomes:
        """What ``threshold`` would do as every label's threshold and as ``abstain_below``."""
        task, tagged, notified, abstained = self.task, 0, 0, 0
        for label, confidence in self._confidences:
            if confidence < threshold:
                abstained += 1
                continue
            tagged += task.emoji_for(label) is not None
            notified += task.notifies(label)
        return Outcomes(tagged, notified, abstained)

    def examples(self, label: str) -> list[Example]:
        """The label's most confident messages, then its least confident one, if another."""
        top = sorted(self._top.get(label, []), reverse=True)
        chosen = [Example(c, text, ts) for c, ts, text in top]
        bottom = self._bottom.get(label)
        if bottom is not None and all(e.ts != bottom[1] for e in chosen):
            chosen.append(Example(bottom[0], bottom[2], bottom[1]))
        return chosen
