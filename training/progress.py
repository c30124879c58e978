"""Training progress: a tqdm bar for people, JSON lines on stderr for machines."""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from tqdm import tqdm


class Progress:
    """Reports steps and epochs; ``jsonl=True`` writes one JSON object per event to ``stream``.

    Otherwise a tqdm bar is drawn when ``stream`` is a terminal, and plain lines (every tenth
    of the run, and each epoch's metrics) when it is a log file or a pipe.
    """

    def __init__(self, *, jsonl: bool = False, stream: TextIO | None = None) -> None:
        self.jsonl = jsonl
        self.stream = stream or sys.stderr
        self._bar: tqdm | None = None
        self._started = time.monotonic()
        self._plain_every = 0
        self._last_plain = 0

    def _emit(self, event: dict) -> None:
        if self.jsonl:
            event["elapsed"] = round(time.monotonic() - self._started, 3)
            self.stream.write(json.dumps(event) + "\n")
            self.stream.flush()

    def start(self, *, epochs: int, steps_per_epoch: int, train_rows: int, eval_rows: int) -> None:
        """Training begins."""
        self._emit(
            {
                "event": "start",
                "epochs": epochs,
                "steps_per_epoch": steps_per_epoch,
                "total_steps": epochs * steps_per_epoch,
                "train_rows": train_rows,
                "eval_rows": eval_rows,
            }
        )
        if self.jsonl:
            return
        if self.stream.isatty():
            self._bar = tqdm(
                total=epochs * steps_per_epoch, desc="fine-tuning", unit="step", file=self.stream
            )
        else:
            self._plain_every = max(1, (epochs * steps_per_epoch) // 10)

    def _plain(self, line: str) -> None:
        if self._plain_every:
            self.stream.write(f"[{time.monotonic() - self._started:6.1f}s] {line}\n")
            self.stream.flush()

    def step(self, *, epoch: int, step: int, total_steps: int, loss: float, lr: float) -> None:
        """Training reached optimiser step ``step``; ``loss`` is the mean since the last call
        (the loop reports every few steps, to keep host syncs rare)."""
        self._emit(
            {
                "event": "step",
                "epoch": epoch,
                "step": step,
                "total_steps": total_steps,
                "loss": round(loss, 5),
                "lr": lr,
            }
        )
        if self._bar is not None:
            self._bar.update(step - self._bar.n)
            self._bar.set_postfix(epoch=epoch, loss=f"{loss:.3f}")
        elif self._plain_every and (
            step // self._plain_every > self._last_plain // self._plain_every or step == total_steps
        ):
            self._last_plain = step
            self._plain(f"step {step}/{total_steps} (epoch {epoch}) loss {loss:.3f}")

    def epoch(self, *, epoch: int, metrics: dict, best: bool) -> None:
        """An epoch's evaluation finished."""
        self._emit(
            {
                "event": "epoch",
                "epoch": epoch,
                "accuracy": metrics["accuracy"],
                "macro_f1": metrics["macro_f1"],
                "best": best,
            }
        )
        line = (
            f"epoch {epoch}: eval accuracy {metrics['accuracy']:.3f}, "
            f"macro-F1 {metrics['macro_f1']:.3f}{' (best so far)' if best else ''}"
        )
        if self._bar is not None:
            self._bar.write(line)
        else:
            self._plain(line)

    def fold(self, *, fold: int, folds: int) -> None:
        """``python -m training suspects`` starts fitting fold ``fold`` of ``folds``."""
        self._emit({"event": "fold", "fold": fold, "folds": folds})
        if not self.jsonl:
            self.stream.write(f"fold {fold}/{folds}\n")
            self.stream.flush()

    def close(self) -> None:
        """Training ended (successfully or not)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class Silent(Progress):
    """Reports nothing: torchrun's ranks other than 0 (rank 0 reports for the run)."""

    def start(self, *, epochs: int, steps_per_epoch: int, train_rows: int, eval_rows: int) -> None:
        """Training begins (nothing is reported)."""

    def step(self, *, epoch: int, step: int, total_steps: int, loss: float, lr: float) -> None:
        """One step finished (nothing is reported)."""

    def epoch(self, *, epoch: int, metrics: dict, best: bool) -> None:
        """An epoch finished (nothing is reported)."""

    def fold(self, *, fold: int, folds: int) -> None:
        """A fold begins (nothing is reported)."""
