"""Successive halving over epochs: how the "auto" weight searches spend their epochs.

Every candidate has trained one epoch and is ranked by its held-out loss. The student
without the teacher trains to the end on its own (the searches race it against the winner
below). Among the others, the :data:`RACERS` best go on to :data:`RUNG_EPOCHS` epochs; then
every racer within :data:`TOLERANCE` of the leader goes on, one epoch at a time, until one
leads the rest by more than that or :data:`RACE_EPOCHS` epochs are done, and the leader
trains to the end.

Why: the one-epoch ranking is noisy, and so is a small lead after three. On ETTh1 (L=720,
an iTransformer teacher, 10 epochs; validation MSE) the one-epoch ranking put 2/2 third of
the four distilled candidates (0.782), although it ended best (0.696, test 0.3705); and after
three epochs 0.5/0.5 led 1/1 by 2.3 % and 2/2 by 0.2 % (its best epoch was its second), yet
ended behind both (0.728; test 0.388). Two racers to three epochs, the schedule before this
one, chose 0.5/0.5 there. Training every candidate to the end chooses best but costs about
twice a fixed fit with a strong teacher, and so did racing close leaders without a bound
(2.06x: 1/1 and 2/2 stayed within 2 % to the end); this schedule spends extra epochs only
where the leaders are close, and at most to the sixth. The numbers (3 racers, 3 epochs,
2 %, 6 epochs) were set after seeing those cases; under TimeDistill's schedule (the learning
rate halved every epoch from the second) three epochs take the step size down to a quarter.
Plain Python: the searches pass in how to train and how to score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

__all__ = ["RACERS", "RACE_EPOCHS", "RUNG_EPOCHS", "TOLERANCE", "clearly_better", "halve"]

#: Candidates that race on after their first epoch.
RACERS = 3
#: Epochs the racers train (counting the first) before those trailing the leader stop.
RUNG_EPOCHS = 3
#: Relative lead under which racers go on racing past the rung (see :func:`halve`).
TOLERANCE = 0.02
#: Epochs after which the race ends whatever the lead: a bound on its cost.
RACE_EPOCHS = 6


def clearly_better(loss: float, than: float) -> bool:
    """Whether ``loss`` leads ``than`` by more than :data:`TOLERANCE` (a smaller lead is a
    tie: the racers go on, and the searches keep the student without the teacher)."""
    return loss * (1 + TOLERANCE) < than


def halve(
    ranked: Sequence[int],
    advance: Callable[[int, int], None],
    loss: Callable[[int], float],
    max_epochs: int,
) -> int | None:
    """Race the best of ``ranked`` and train the winner to ``max_epochs``; return it.

    Parameters
    ----------
    ranked : sequence of int
        Candidates, best first after their first epoch.
    advance : callable
        ``advance(i, until)`` trains candidate ``i`` on to epoch ``until`` (a no-op once it
        is there, stopped early or diverged).
    loss : callable
        ``loss(i)``: candidate ``i``'s held-out loss so far (inf once it diverged).
    max_epochs : int
        The fit's epoch budget.

    Returns
    -------
    int or None
        The candidate trained to the end; None when ``ranked`` is empty.
    """
    racers = list(ranked[:RACERS])
    if not racers:
        return None
    epoch = min(RUNG_EPOCHS, max_epochs)
    for i in racers:
        advance(i, epoch)

    def standing() -> list[int]:
        return sorted(racers, key=lambda i: (loss(i), racers.index(i)))

    # Racers within TOLERANCE of the leader go on together, one epoch at a time, until one
    # pulls ahead or RACE_EPOCHS: a lead smaller than that is not evidence.
    while epoch < min(RACE_EPOCHS, max_epochs):
        order = standing()
        racers = [i for i in order if not clearly_better(loss(order[0]), loss(i))]
        if len(racers) < 2:
            break
        epoch += 1
        for i in racers:
            advance(i, epoch)
    leader = standing()[0]
    advance(leader, max_epochs)
    return leader
