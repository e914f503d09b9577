"""Champion (batch model) against challenger (online model) on the same labelled examples.

McNemar's exact test: only the discordant pairs count, ``b`` examples the batch model
got right and the online model wrong, ``c`` the other way round; under "equally
accurate" ``b ~ Binomial(b + c, 1/2)``, so the two-sided p-value is
``scipy.stats.binomtest(b, b + c, 0.5)``. The winner is the model right more often
when ``p < alpha``, else nobody (``None``). :class:`PairedWindow` keeps the last
``window`` pairs with running counts, so a test costs one ``binomtest`` call.

>>> result = mcnemar(batch_only=2, online_only=15)
>>> result["winner"], round(result["p_value"], 4)
('online', 0.0023)
>>> mcnemar(batch_only=5, online_only=7)["winner"] is None
True
>>> w = PairedWindow(window=3)
>>> for pair in [(True, True), (False, True), (True, False), (False, True)]:
...     w.update(*pair)
>>> {k: w.test()[k] for k in ("n", "batch_only", "online_only", "both", "neither")}
{'n': 3, 'batch_only': 1, 'online_only': 2, 'both': 0, 'neither': 0}
"""

from __future__ import annotations

from collections import deque


def mcnemar(batch_only: int, online_only: int, alpha: float = 0.05) -> dict:
    """``p_value``, ``winner`` (``"batch"``, ``"online"`` or None) and the discordant counts."""
    n = batch_only + online_only
    if n == 0:
        p_value = 1.0
    else:
        from scipy.stats import binomtest

        p_value = float(binomtest(batch_only, n, 0.5).pvalue)
    winner = None
    if p_value < alpha and batch_only != online_only:
        winner = "batch" if batch_only > online_only else "online"
    return {
        "p_value": p_value,
        "winner": winner,
        "alpha": alpha,
        "batch_only": batch_only,
        "online_only": online_only,
    }


class PairedWindow:
    """The last ``window`` (batch right, online right) pairs and their four counts."""

    def __init__(self, window: int = 1000, alpha: float = 0.05) -> None:
        self.window, self.alpha = window, alpha
        self.pairs: deque = deque()
        self.counts = [0, 0, 0, 0]  # index: 2 * batch right + online right

    def update(self, batch_right: bool, online_right: bool) -> None:
        if len(self.pairs) == self.window:
            self.counts[self.pairs.popleft()] -= 1
        cell = 2 * bool(batch_right) + bool(online_right)
        self.pairs.append(cell)
        self.counts[cell] += 1

    def test(self) -> dict:
        """:func:`mcnemar` on the window, plus ``n``, ``both`` and ``neither``."""
        neither, online_only, batch_only, both = self.counts
        result = mcnemar(batch_only, online_only, self.alpha)
        return {**result, "n": len(self.pairs), "both": both, "neither": neither}
