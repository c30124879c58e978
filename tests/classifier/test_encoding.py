"""Batching by a token budget: padded size bounded, every index once, longest first."""

from __future__ import annotations

from classifier.encoding import token_budget_batches


def test_batches_stay_within_the_padded_token_budget() -> None:
    lengths = [30, 500, 12, 30, 300, 7, 520, 40]
    batches = token_budget_batches(lengths, 1024)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        longest = max(lengths[i] for i in batch)
        assert lengths[batch[0]] == longest
        assert len(batch) * longest <= 1024 or len(batch) == 1
    assert batches[0] == [6]  # 520 and 500 tokens would pad past the budget together
    assert token_budget_batches([2000], 1024) == [[0]]  # too long for the budget: alone
    assert token_budget_batches([], 1024) == []


def test_short_texts_share_one_pass() -> None:
    assert token_budget_batches([30] * 20, 2048) == [list(range(20))]
