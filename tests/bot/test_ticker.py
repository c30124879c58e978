import logging
import threading

from bot.ticker import Ticker


class Flaky(Ticker):
    thread_name = "test-ticker"

    def __init__(self) -> None:
        super().__init__()
        self.rounds = 0
        self.third = threading.Event()

    def tick(self) -> None:
        self.rounds += 1
        if self.rounds == 3:
            self.third.set()
        if self.rounds == 1:
            raise RuntimeError("boom")

    def wait_s(self) -> float:
        return 0.01


def test_a_failed_round_is_logged_and_the_next_one_still_runs(caplog) -> None:
    ticker = Flaky()
    with caplog.at_level(logging.ERROR, logger="bot.ticker"):
        ticker.start()
        ticker.start()  # a second start is a no-op, not a second thread
        assert ticker.third.wait(5)
        ticker.stop()
    assert "test-ticker round failed" in caplog.text and "boom" in caplog.text
    assert sum(t.name == "test-ticker" for t in threading.enumerate()) == 0
    stopped_at = ticker.rounds
    ticker.third.clear()
    assert not ticker.third.wait(0.05) and ticker.rounds == stopped_at
