"""Estimated performance on known truths: a model whose scores are calibrated by construction,
so each window's true metric is known, and realized metrics checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from watchkeeper.monitor.estimate import (
    METRICS,
    Calibration,
    EstimateError,
    calibrate,
    checked_scores,
    estimate,
    realized,
)

SKLEARN = {
    "accuracy": sk.accuracy_score,
    "precision": sk.precision_score,
    "recall": sk.recall_score,
    "f1": sk.f1_score,
}


def window(rng: np.random.Generator, n: int, shift: float = 0.0):  # type: ignore[no-untyped-def]
    """A model whose score is the true P(y=1) (calibrated by construction); `shift` moves the
    inputs, so the same model's accuracy changes while its calibration holds."""
    x = rng.normal(shift, 1.0, n)
    p = 1 / (1 + np.exp(-2 * x))
    y = rng.random(n) < p
    return p, (p >= 0.5).astype(int), y.astype(int)


@pytest.mark.parametrize("metric", METRICS)
def test_realized_metrics_are_scikit_learns(metric: str) -> None:
    rng = np.random.default_rng(1)
    scores, predicted, labels = window(rng, 2_000)
    ours = realized(metric, scores, predicted, labels)  # type: ignore[arg-type]
    theirs = (
        sk.roc_auc_score(labels, scores)
        if metric == "roc_auc"
        else SKLEARN[metric](labels, predicted)
    )
    assert ours == pytest.approx(theirs, abs=1e-12)


@pytest.mark.parametrize("metric", METRICS)
def test_on_calibrated_scores_the_estimate_tracks_the_true_metric_as_inputs_shift(
    metric: str,
) -> None:
    rng = np.random.default_rng(2)
    errors, covered = [], 0
    for shift in np.linspace(-1.0, 1.0, 9):
        scores, predicted, labels = window(rng, 3_000, shift)
        got = estimate(metric, scores, predicted, scores)  # type: ignore[arg-type]
        truth = realized(metric, scores, predicted, labels)  # type: ignore[arg-type]
        assert got.value is not None and got.low is not None and got.high is not None
        assert truth is not None and got.low <= got.value <= got.high
        errors.append(abs(got.value - truth))
        covered += got.low <= truth <= got.high
    assert max(errors) < 0.03, errors
    assert covered >= 7, "a 95% interval should hold the truth in most windows"


def test_calibration_repairs_overconfident_scores_and_barely_moves_calibrated_ones() -> None:
    rng = np.random.default_rng(3)
    p, predicted, labels = window(rng, 20_000)
    overconfident = 1 / (1 + np.exp(-2.5 * np.log(p / (1 - p))))  # the same order, too sure
    fitted = calibrate(overconfident, labels)
    assert fitted != Calibration()
    assert np.abs(fitted.apply(overconfident) - p).mean() < 0.03
    raw = estimate("accuracy", overconfident, predicted, overconfident).value
    repaired = estimate("accuracy", fitted.apply(overconfident), predicted, overconfident).value
    truth = realized("accuracy", p, predicted, labels)
    assert raw is not None and repaired is not None and truth is not None
    assert abs(repaired - truth) < 0.01 < abs(raw - truth)
    already = calibrate(p, labels)  # the identity, or a fit that barely moves them
    assert np.abs(already.apply(p) - p).mean() < 0.02
    assert Calibration.from_dict(fitted.to_dict()) == fitted


def test_refusals_say_what_is_missing() -> None:
    rng = np.random.default_rng(4)
    p, _, labels = window(rng, 500)
    with pytest.raises(EstimateError, match="has 50 labelled row"):
        calibrate(p[:50], labels[:50])
    with pytest.raises(EstimateError, match="every labelled baseline row is negative"):
        calibrate(p, np.zeros_like(labels))
    with pytest.raises(EstimateError, match=r"1 score\(s\) outside \[0, 1\] \(e.g. 1.5\)"):
        checked_scores([0.2, 1.5, 0.9])
    assert estimate("f1", np.array([]), np.array([]), np.array([])).value is None
