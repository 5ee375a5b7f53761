"""Successive halving over epochs (the "auto" weight searches' schedule), on its own.

What a user relies on: the best after one epoch race to three epochs, racers that stay
close race on, one winner trains to the end, nothing trains past ``max_epochs``, and a short
budget is respected.
"""

from __future__ import annotations

import math

from skdistill.training.halving import (
    RACE_EPOCHS,
    RACERS,
    RUNG_EPOCHS,
    TOLERANCE,
    clearly_better,
    halve,
)


def _race(curves: dict, max_epochs: int):
    """Candidates with a held-out loss per epoch (``curves[i][e - 1]`` after epoch e, the
    last value repeated); returns the leader and each candidate's epochs."""
    epochs = dict.fromkeys(curves, 1)

    def advance(i: int, until: int) -> None:
        epochs[i] = max(epochs[i], min(until, max_epochs))

    def loss(i: int) -> float:
        curve = curves[i]
        return curve[min(epochs[i], len(curve)) - 1]

    ranked = sorted(curves, key=lambda i: curves[i][0])
    return halve(ranked, advance, loss, max_epochs), epochs


def test_the_one_epoch_leader_can_lose_the_race():
    # 1 leads after one epoch; 3 leads clearly after three: it trains to the end, the other
    # racers stop at the rung and the fourth after one epoch.
    curves = {1: [0.70, 0.66, 0.65], 2: [0.71, 0.69, 0.68], 3: [0.72, 0.60, 0.50], 4: [0.90]}
    leader, epochs = _race(curves, max_epochs=10)
    assert (RACERS, RUNG_EPOCHS, TOLERANCE, RACE_EPOCHS) == (3, 3, 0.02, 6)
    assert leader == 3
    assert epochs == {1: 3, 2: 3, 3: 10, 4: 1}


def test_close_racers_race_on_until_one_pulls_ahead():
    # After three epochs 1 and 2 are within 1 %: both go on, one epoch at a time; after the
    # fifth 2 leads by more than TOLERANCE and trains on alone. 3 trails from the rung.
    curves = {
        1: [0.80, 0.75, 0.700, 0.695, 0.690],
        2: [0.81, 0.76, 0.705, 0.690, 0.650, 0.640],
        3: [0.82, 0.80, 0.780],
        4: [0.90],
    }
    leader, epochs = _race(curves, max_epochs=8)
    assert leader == 2
    assert epochs == {1: 5, 2: 8, 3: 3, 4: 1}


def test_racers_that_never_part_stop_racing_after_race_epochs():
    # Within 2 % throughout: they race to RACE_EPOCHS, then the leader goes on alone.
    curves = {1: [0.5, 0.4, 0.3], 2: [0.51, 0.41, 0.302, 0.3, 0.3, 0.299], 3: [0.6, 0.6, 0.6]}
    leader, epochs = _race(curves, max_epochs=12)
    assert leader == 2 and epochs == {1: 6, 2: 12, 3: 3}
    # A budget shorter than the race: both reach the end.
    leader, epochs = _race(curves, max_epochs=5)
    assert leader == 1 and epochs == {1: 5, 2: 5, 3: 3}


def test_short_budgets_and_empty_fields():
    leader, epochs = _race({1: [0.5, 0.3], 2: [0.4, 0.35]}, max_epochs=2)
    assert leader == 1 and epochs == {1: 2, 2: 2}
    assert halve([], lambda i, u: None, lambda i: 0.0, 5) is None


def test_a_diverged_racer_loses():
    leader, epochs = _race({1: [0.5, math.inf], 2: [0.6, 0.9]}, max_epochs=6)
    assert leader == 2 and epochs[2] == 6


def test_a_lead_within_tolerance_is_a_tie():
    # What decides whether a search keeps the teacher: only a lead over TOLERANCE counts.
    assert clearly_better(0.97, 1.0) and not clearly_better(0.99, 1.0)
    assert clearly_better(1.0, math.inf) and not clearly_better(math.inf, 1.0)
    assert not clearly_better(math.inf, math.inf)
