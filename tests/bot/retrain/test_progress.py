"""Training progress in words, and the throttle on how often it is shown."""

from __future__ import annotations

from bot.retrain.progress import Throttle, describe_progress


def test_throttle() -> None:
    now = [0.0]
    throttle = Throttle(3.0, clock=lambda: now[0])
    assert throttle.ready()
    now[0] = 1.0
    assert not throttle.ready()
    assert throttle.ready(force=True)
    now[0] = 3.5
    assert not throttle.ready()
    now[0] = 4.0
    assert throttle.ready()


def test_progress_text() -> None:
    start = {"event": "start", "epochs": 2, "total_steps": 10, "train_rows": 80, "eval_rows": 20}
    step = {"event": "step", "epoch": 1, "step": 3, "total_steps": 10, "loss": 0.69, "lr": 1e-4}
    epoch = {"event": "epoch", "epoch": 1, "accuracy": 0.8, "macro_f1": 0.75, "best": True}
    assert describe_progress(None).startswith("starting")
    assert describe_progress(start, start) == (
        "training on 80 rows, evaluating on 20: 2 epochs, 10 steps"
    )
    assert describe_progress(step, start) == "epoch 1/2 · step 3/10 (30%) · loss 0.690"
    assert describe_progress(epoch, start).endswith("macro-F1 0.750 (best so far)")


def test_progress_text_before_the_start_event_and_for_other_events() -> None:
    step = {"event": "step", "epoch": 1, "step": 3, "loss": 0.5}
    assert describe_progress(step) == "epoch 1 · step 3/0 · loss 0.500"
    epoch = {"event": "epoch", "epoch": 2, "accuracy": 0.5, "macro_f1": 0.4}
    assert describe_progress(epoch) == "epoch 2 evaluated: accuracy 0.500, macro-F1 0.400"
    assert describe_progress({"event": "saving"}) == "saving"
