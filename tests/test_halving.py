"""Successive halving over epochs (the "auto" weight searches' schedule), on its own.

What a user relies on: the two best after one epoch race to three epochs, the better of those
trains to the end, nothing trains past ``max_epochs``, and a short budget is respected.
"""

from __future__ import annotations

import math

from skdistill.training.halving import RACERS, RUNG_EPOCHS, halve


def _race(first: dict, later: dict, max_epochs: int):
    """Candidates with a loss after their first epoch (``first``) and from then on
    (``later``); returns the leader and each candidate's epochs."""
    epochs = dict.fromkeys(first, 1)

    def advance(i: int, until: int) -> None:
        epochs[i] = max(epochs[i], until)

    def loss(i: int) -> float:
        return first[i] if epochs[i] == 1 else later[i]

    ranked = sorted(first, key=first.get)
    return halve(ranked, advance, loss, max_epochs), epochs


def test_the_one_epoch_leader_can_lose_the_race():
    # 1 leads after one epoch, 2 after three: 2 trains to the end, 1 stops at the rung.
    first = {1: 0.70, 2: 0.71, 3: 0.80, 4: 0.90}
    later = {1: 0.65, 2: 0.60, 3: 0.50, 4: 0.40}
    leader, epochs = _race(first, later, max_epochs=10)
    assert (RACERS, RUNG_EPOCHS) == (2, 3)
    assert leader == 2
    assert epochs == {1: 3, 2: 10, 3: 1, 4: 1}


def test_short_budgets_and_empty_fields():
    first = {1: 0.5, 2: 0.4}
    leader, epochs = _race(first, {1: 0.3, 2: 0.35}, max_epochs=2)
    assert leader == 1 and epochs == {1: 2, 2: 2}
    assert halve([], lambda i, u: None, lambda i: 0.0, 5) is None


def test_a_diverged_racer_loses():
    first = {1: 0.5, 2: 0.6}
    leader, _ = _race(first, {1: math.inf, 2: 0.9}, max_epochs=6)
    assert leader == 2
