"""/healthz, /readyz and /metrics: what they answer, and that readiness is cached."""

from __future__ import annotations

import json
from typing import Any

from bot.ops.endpoints import Readiness, database_check, model_check, ops_app
from bot.ops.metrics import Metrics


def get(app: Any, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    body = b"".join(
        app({"PATH_INFO": path, "REQUEST_METHOD": method}, lambda s, h: seen.append((s, h)))
    )
    status, headers = seen[0]
    return int(status.split()[0]), dict(headers), body


class Db:
    def __init__(self) -> None:
        self.up, self.calls = True, 0

    def revision(self) -> str:
        self.calls += 1
        if not self.up:
            raise OSError("connection refused to postgresql://heed:pw@db")
        return "0002"


def test_ready_only_when_every_check_passes() -> None:
    db, version = Db(), {"v": None}
    readiness = Readiness(
        {"model": model_check(lambda: version["v"]), "database": database_check(db)}
    )
    app = ops_app(Metrics(), readiness)
    status, headers, body = get(app, "/readyz")
    answer = json.loads(body)
    assert status == 503 and headers["Content-Type"] == "application/json"
    assert answer == {
        "ready": False,
        "checks": {"model": "no model is loaded yet", "database": "ok"},
    }
    version["v"] = "v1"
    readiness.add("slack", lambda: (True, ""))  # adding a check forgets the cached answer
    status, _, body = get(app, "/readyz")
    assert status == 200 and json.loads(body)["checks"] == {
        "model": "ok",
        "database": "ok",
        "slack": "ok",
    }


def test_readiness_is_cached_and_never_shows_the_error_text() -> None:
    db = Db()
    readiness = Readiness({"database": database_check(db)})
    app = ops_app(Metrics(), readiness)
    for _ in range(5):
        get(app, "/readyz")
    assert db.calls == 1
    db.up = False
    fresh = Readiness({"database": database_check(db)})
    status, _, body = get(ops_app(Metrics(), fresh), "/readyz")
    assert status == 503 and b"pw" not in body and b"does not answer" in body


def test_a_check_that_raises_is_not_ready() -> None:
    def broken() -> tuple[bool, str]:
        raise RuntimeError("secret detail")

    status, _, body = get(ops_app(Metrics(), Readiness({"x": broken})), "/readyz")
    assert status == 503 and b"secret" not in body and b"RuntimeError" in body


def test_healthz_metrics_and_the_rest() -> None:
    app = ops_app(Metrics(), Readiness({}))
    assert get(app, "/healthz")[::2] == (200, b"ok\n")
    status, headers, body = get(app, "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"heed_requests_total" in body
    assert get(app, "/metrics", "POST")[0] == 405
    assert get(app, "/nothing")[0] == 404
