"""NannyML's side of benchmarks/estimation.py, run by the venv benchmarks/_nannyml_env.sh builds.

    NML_DISABLE_USAGE_LOGGING=1 PYTHON_OF_THAT_VENV benchmarks/_nannyml_side.py WINDOWS.npz REPEAT

Reads the scored windows the parent wrote (reference: score, prediction, label, window;
analysis: score, prediction, window, no label), fits CBPE on the reference and estimates every
analysis window with NannyML's own code, and prints one JSON line: per window and metric the
estimate and NannyML's band (estimate ± 3 sampling errors), and the seconds spent importing,
fitting and estimating (the median of REPEAT runs). The windows are the parent's, passed
through a Chunker that splits on the `window` column, so both tools judge exactly the same rows.
Nothing here imports Watchkeeper: this venv holds NannyML and its dependencies only.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import warnings
from typing import Any

METRICS = ["roc_auc", "accuracy", "precision", "recall", "f1"]


def main(path: str, repeat: int) -> None:
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")
    warnings.filterwarnings("ignore")  # NannyML warns about chunk counts and sizes we chose
    import numpy as np

    started = time.perf_counter()
    import nannyml
    import pandas as pd
    from nannyml.chunk import Chunk, Chunker

    imported = time.perf_counter()

    class WindowChunker(Chunker):  # type: ignore[misc]
        """One chunk per value of the `window` column, in the parent's order."""

        def _split(self, data: Any) -> list[Any]:
            return [
                Chunk(key=str(key), data=rows) for key, rows in data.groupby("window", sort=True)
            ]

    with np.load(path) as arrays:
        reference = pd.DataFrame(
            {
                "score": arrays["ref_score"],
                "pred": arrays["ref_pred"].astype(int),
                "y": arrays["ref_y"].astype(int),
                "window": arrays["ref_window"],
            }
        )
        analysis = pd.DataFrame(
            {
                "score": arrays["ana_score"],
                "pred": arrays["ana_pred"].astype(int),
                "window": arrays["ana_window"],
            }
        )
    fits, estimates = [], []
    for _ in range(repeat):  # the median of `repeat` runs: this machine is shared
        began = time.perf_counter()
        estimator = nannyml.CBPE(
            problem_type="classification_binary",
            y_pred_proba="score",
            y_pred="pred",
            y_true="y",
            metrics=METRICS,
            chunker=WindowChunker(),
        )
        estimator.fit(reference)
        fitted = time.perf_counter()
        result = estimator.estimate(analysis).filter(period="analysis").to_df()
        fits.append(fitted - began)
        estimates.append(time.perf_counter() - fitted)
    keys = [int(k) for k in result[("chunk", "key")]]
    out: dict[str, Any] = {
        "version": nannyml.__version__,
        "import_s": imported - started,
        "fit_s": statistics.median(fits),
        "estimate_s": statistics.median(estimates),
        "calibrated": bool(estimator.needs_calibration),
        "windows": keys,
    }
    for metric in METRICS:
        out[metric] = {
            "value": result[(metric, "value")].astype(float).tolist(),
            "low": result[(metric, "lower_confidence_boundary")].astype(float).tolist(),
            "high": result[(metric, "upper_confidence_boundary")].astype(float).tolist(),
        }
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: _nannyml_side.py WINDOWS.npz REPEAT")
    main(sys.argv[1], int(sys.argv[2]))
