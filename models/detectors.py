"""Concept-drift detectors on each model's 0/1 error stream: ADWIN and PageHinkley.

For every labelled example each model's error (1.0 when its most probable class is
wrong) goes to River's ``drift.ADWIN`` (``delta=0.002``) and ``drift.PageHinkley``
(``min_instances=30, delta=0.005, threshold=50``), River's defaults. Only a rise of the
error rate is a concept drift: PageHinkley watches upwards only (``mode="up"``) and an
ADWIN detection counts when the error rate of the window it keeps is above the one
before (a model that learns, as the online model does from its first labels, makes
its error fall: that is no alarm). ``update`` returns the detectors that fired on
that example; the learner turns each into a ``detector`` record naming the model,
the detector and the example's index.

Pinned in tests/models/test_detectors.py: on an error rate going from 0.1 to 0.4 at
example 2,000 (seed 42), ADWIN fires at 2,079 and PageHinkley at 2,180 (within 300
examples for every seed tried); 5,000 stationary examples at 0.1 raise no alarm.

PageHinkley keeps a bound method (its test for the chosen direction) that pickles as
``builtins.getattr``, which a snapshot may never resolve; :meth:`state` saves its data
fields only and :meth:`from_state` rebuilds it.

>>> detectors = ErrorDetectors(models=("online",))
>>> fired = [(i, names) for i, e in enumerate([0.0] * 300 + [1.0] * 100)
...          if (names := detectors.update("online", e))]
>>> fired[:2]
[(319, ['adwin']), (354, ['page_hinkley'])]
"""

from __future__ import annotations

DETECTORS = ("adwin", "page_hinkley")


def _make(name: str, params: dict):
    from river import drift

    if name == "adwin":
        return drift.ADWIN(delta=params["adwin_delta"])
    return drift.PageHinkley(
        min_instances=params["ph_min_instances"],
        delta=params["ph_delta"],
        threshold=params["ph_threshold"],
        mode="up",
    )


class ErrorDetectors:
    """One ADWIN and one PageHinkley per model name."""

    def __init__(
        self,
        models: tuple[str, ...] = ("batch", "online"),
        adwin_delta: float = 0.002,
        ph_min_instances: int = 30,
        ph_delta: float = 0.005,
        ph_threshold: float = 50.0,
    ) -> None:
        self.params = {
            "adwin_delta": adwin_delta,
            "ph_min_instances": ph_min_instances,
            "ph_delta": ph_delta,
            "ph_threshold": ph_threshold,
        }
        self.detectors = {m: {d: _make(d, self.params) for d in DETECTORS} for m in models}

    def update(self, model: str, error: float) -> list[str]:
        """Feed one error (0.0 or 1.0) of ``model``; the names of the detectors that fired."""
        fired = []
        for name, detector in self.detectors[model].items():
            before = detector.estimation if name == "adwin" else None
            detector.update(error)
            if detector.drift_detected and (before is None or detector.estimation > before):
                fired.append(name)
        return fired

    def thresholds(self) -> dict[str, float]:
        return {"adwin": self.params["adwin_delta"], "page_hinkley": self.params["ph_threshold"]}

    def state(self) -> dict:
        """Picklable with the snapshot's trusted types only."""
        detectors = {
            model: {
                "adwin": pair["adwin"],
                "page_hinkley": {
                    k: v for k, v in vars(pair["page_hinkley"]).items() if k != "_test_drift"
                },
            }
            for model, pair in self.detectors.items()
        }
        return {"params": self.params, "detectors": detectors}

    @classmethod
    def from_state(cls, state: dict) -> ErrorDetectors:
        out = cls(tuple(state["detectors"]), **state["params"])
        for model, pair in state["detectors"].items():
            out.detectors[model]["adwin"] = pair["adwin"]
            page_hinkley = out.detectors[model]["page_hinkley"]  # a fresh one, same params
            vars(page_hinkley).update(pair["page_hinkley"])
        return out
