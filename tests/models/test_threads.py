"""A worker's thread limit must hold for the OpenMP runtime a model loads later."""

import json
import os
import subprocess
import sys

PROBE = """
import json, sys
from streamscore.models.threads import limit_native_threads
limit_native_threads(1)
from sklearn.ensemble import HistGradientBoostingClassifier  # what loading a model imports
from threadpoolctl import threadpool_info
print(json.dumps({pool["internal_api"]: pool["num_threads"] for pool in threadpool_info()}))
"""


def test_openmp_is_limited_even_when_the_model_is_imported_after_the_limit() -> None:
    # A fresh interpreter: in this test process scikit-learn is loaded already.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True, env={**os.environ, "OMP_NUM_THREADS": "2"}).stdout  # fmt: skip
    pools = json.loads(out.splitlines()[-1])
    assert pools.get("openmp") == 1, pools
