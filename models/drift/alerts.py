"""Alerts that rise once and clear once: hysteresis per (feature, metric).

A statistic over its threshold raises an alert; the alert clears only after
``clear_after`` consecutive windows back under the threshold (default 2). In between,
nothing is reported however the statistic wobbles, so a drift that lasts yields one
``raise`` and one ``clear``, never one per window. Two quiet windows, not one: a
statistic near its threshold dips under it now and then while the drift goes on, and
each dip would otherwise cost a clear and a new raise; the price is one window of
delay before a clear.

River style: :meth:`Hysteresis.update` then the flags of that update, ``alerted``
(the alert was raised by it) and ``cleared``; ``active`` is the standing state.

>>> state = Hysteresis(clear_after=2)
>>> for i, value in enumerate([0.1, 0.9, 0.8, 0.2, 0.9, 0.1, 0.1, 0.1]):
...     state.update(value, threshold=0.5)
...     if state.alerted or state.cleared:
...         print(i, "raise" if state.alerted else "clear")
1 raise
6 clear
"""

from __future__ import annotations

from collections.abc import Iterable

from streamscore.models.drift.statistics import Statistic

CLEAR_AFTER = 2


class Hysteresis:
    """The alert state of one statistic.

    Parameters
    ----------
    clear_after
        How many consecutive windows under the threshold clear a raised alert.
    """

    def __init__(self, clear_after: int = CLEAR_AFTER) -> None:
        if clear_after < 1:
            raise ValueError(f"clear_after must be at least 1, got {clear_after}")
        self.clear_after = clear_after
        self.active = False
        self.alerted = False
        self.cleared = False
        self.quiet = 0  # consecutive windows under the threshold while active

    def update(self, value: float, threshold: float) -> None:
        """Take one window's statistic; sets ``alerted`` / ``cleared`` for this window."""
        over = value > threshold
        self.alerted = self.cleared = False
        if not self.active:
            self.active = self.alerted = over
            self.quiet = 0
        elif over:
            self.quiet = 0
        else:
            self.quiet += 1
            if self.quiet >= self.clear_after:
                self.active, self.cleared, self.quiet = False, True, 0


class AlertBook:
    """The :class:`Hysteresis` of every (name, metric) of one model version.

    Its state is plain JSON (:meth:`to_json`), to keep in a table across restarts.
    """

    def __init__(self, clear_after: int = CLEAR_AFTER) -> None:
        self.clear_after = clear_after
        self.states: dict[tuple[str, str], Hysteresis] = {}

    def update(self, statistics: Iterable[Statistic]) -> list[tuple[Statistic, str]]:
        """Take one window's statistics; return the transitions, ``(statistic, "raise"
        | "clear")``, in the statistics' order."""
        transitions = []
        for stat in statistics:
            key = (stat.name, stat.metric)
            state = self.states.setdefault(key, Hysteresis(self.clear_after))
            state.update(stat.value, stat.threshold)
            if state.alerted or state.cleared:
                transitions.append((stat, "raise" if state.alerted else "clear"))
        return transitions

    def active(self) -> list[tuple[str, str]]:
        """The (name, metric) pairs whose alert stands."""
        return [key for key, state in self.states.items() if state.active]

    def to_json(self) -> dict:
        return {
            "clear_after": self.clear_after,
            "active": [[*key, state.quiet] for key, state in self.states.items() if state.active],
        }

    @classmethod
    def from_json(cls, data: dict) -> AlertBook:
        book = cls(int(data["clear_after"]))
        for name, metric, quiet in data["active"]:
            state = book.states[(name, metric)] = Hysteresis(book.clear_after)
            state.active, state.quiet = True, int(quiet)
        return book
