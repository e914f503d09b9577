"""How many native threads a model may use: one call that holds for every library.

``threadpoolctl`` only limits the native libraries already loaded. scikit-learn's
OpenMP runtime (which HistGradientBoosting predicts with) is loaded when a model's
module is first imported, which in a worker is when the model is loaded, after the
settings are applied: a limit set before that leaves OpenMP at one thread per core.
Measured on a loaded 2-core host, HistGradientBoosting's ``predict_proba`` on one row
cost 11 ms of CPU with two OpenMP threads against 1 ms with one (the threads spin
waiting for a core), and the worker's CPU per event was ~4x what it was alone. So the
OpenMP runtime is loaded here first, then limited.

>>> from threadpoolctl import threadpool_info
>>> limit_native_threads(1)
>>> sorted({pool["internal_api"] for pool in threadpool_info() if pool["num_threads"] != 1})
[]
"""

from __future__ import annotations


def limit_native_threads(threads: int) -> None:
    """Cap OpenMP and BLAS at ``threads`` threads in this process, scikit-learn's included."""
    import sklearn.utils._openmp_helpers  # noqa: F401  (loads the OpenMP runtime)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=threads)
