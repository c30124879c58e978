"""Request signatures: claimed once across replicas, swept once the verifier refuses them."""

from __future__ import annotations

import time

from bot.database import Database
from bot.database.signatures import WINDOW_S

SIGNATURE = "v0=" + "1f" * 32


def test_a_signature_is_claimed_once_across_replicas(database_url: str) -> None:
    now = int(time.time())
    with Database(database_url) as one, Database(database_url) as two:
        assert one.signatures.claim(SIGNATURE, now)
        assert not two.signatures.claim(SIGNATURE, now)  # the replay, on another replica
        assert two.signatures.claim("v0=" + "2e" * 32, now)


def test_the_sweep_keeps_signatures_the_verifier_would_still_accept(db: Database) -> None:
    now = int(time.time())
    assert db.signatures.claim("v0=old", now - 3 * WINDOW_S)
    assert db.signatures.claim("v0=fresh", now - WINDOW_S)
    assert db.signatures.claim("v0=future", now + WINDOW_S)  # a fast clock, still accepted
    assert db.signatures.prune(now) == 1
    assert db.signatures.claim("v0=old", now - 3 * WINDOW_S)
    assert not db.signatures.claim("v0=fresh", now - WINDOW_S)
    assert not db.signatures.claim("v0=future", now + WINDOW_S)
