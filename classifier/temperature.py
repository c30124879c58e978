"""The temperature a version's confidences are calibrated with (``heed.json``: ``temperature``).

Training fits one T > 0 on the held-out rows (``training.calibration``) and every probability
Heed shows or acts on is ``softmax(logits / T)``: the label (the argmax) never changes, only
how sure the model says it is. A version without the key (older versions, hand-made model
directories) has T = 1, i.e. the plain softmax it always had.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from classifier.label_bias import adjusted
from classifier.store import read_metadata

TEMPERATURE_KEY = "temperature"


class BadTemperature(ValueError):
    """A version's ``heed.json`` has a temperature that is not a positive finite number."""


def check_temperature(value: object) -> float:
    """``value`` as a temperature: a positive finite number, else :class:`BadTemperature`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadTemperature(f"temperature must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise BadTemperature(f"temperature must be positive and finite, got {value!r}")
    return float(value)


def temperature_of(path: Path) -> float:
    """The temperature of the model directory ``path``: 1.0 without one. Raises
    :class:`BadTemperature` when ``heed.json`` holds a value no probability can be made with."""
    value = read_metadata(path).get(TEMPERATURE_KEY)
    return 1.0 if value is None else check_temperature(value)


def calibrated(
    logits: torch.Tensor, temperature: float, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """``softmax((logits + bias) / temperature)`` over the last dimension, in float32
    (``bias``: the version's label bias, :mod:`classifier.label_bias`; none and T = 1: exactly
    the plain softmax)."""
    values = adjusted(logits, bias)
    if temperature != 1.0:
        values = values / temperature
    return values.softmax(dim=-1)
