"""Quality before the labels arrive: a binary classifier's metric estimated from its own scores.

Confidence-based performance estimation (the method NannyML calls CBPE): on the baseline, where
feedback labels exist, the scores are mapped to calibrated probabilities of the positive class
(isotonic regression, kept only when it lowers the calibration error); in a window without
labels, each row's probability p says how likely its label is positive, so the confusion matrix
has an expected value — E[TP] = Σ p over predicted positives, E[FP] = Σ (1 − p) over them, and so
on — and so does every metric built on it. The interval is the spread of the metric when each
row's label is drawn from its p: the noise of a window this size if the calibration holds, not
the error of the calibration itself (which the realized metric, once labels come, shows).

Pure: arrays in, numbers out; the random draws are seeded, so a window's interval is the same
on every replica and every re-run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from watchkeeper.manifest import Signal
from watchkeeper.monitor.signals import Observed, field_getter

Metric = Literal["roc_auc", "accuracy", "precision", "recall", "f1"]
METRICS: tuple[Metric, ...] = ("roc_auc", "accuracy", "precision", "recall", "f1")
MIN_LABELLED = 100
"""Fewer labelled baseline rows than this calibrate nothing worth trusting."""
DRAWS = 400
_SPLITS = 10
_BINS = 10
_MAX_DRAWN = 4_000_000  # labels drawn at once (draws × rows); larger windows draw in slices


class EstimateError(ValueError):
    """Why a score cannot be calibrated or estimated: said where the signal is judged."""


@dataclass(frozen=True)
class Calibration:
    """A monotone map from score to P(positive): knots of a step function, interpolated; the
    identity when calibrating did not lower the calibration error on held-out baseline rows."""

    knots: tuple[float, ...] = (0.0, 1.0)
    values: tuple[float, ...] = (0.0, 1.0)

    @property
    def fitted(self) -> bool:
        """False for the identity: the scores were already calibrated."""
        return self != Calibration()

    def apply(self, scores: np.ndarray) -> np.ndarray:
        return np.asarray(np.interp(scores, self.knots, self.values), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"knots": list(self.knots), "values": list(self.values)}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Calibration:
        return Calibration(tuple(data["knots"]), tuple(data["values"]))


@dataclass(frozen=True)
class Scored:
    """What an estimated signal reads of some observations: each row with a score, its 0/1
    decision (0 where the metric needs none), and its label where feedback gave one (-1 where
    not)."""

    scores: list[Any]
    predicted: np.ndarray
    labels: np.ndarray

    def labelled(self) -> Scored:
        keep = self.labels >= 0
        kept = [s for s, k in zip(self.scores, keep, strict=True) if k]
        return Scored(kept, self.predicted[keep], self.labels[keep])


def scored(signal: Signal, observations: Sequence[Observed]) -> Scored:
    """The rows of `observations` that carry the signal's score, read as the signal says."""
    assert signal.score is not None
    score = field_getter(signal.score)
    decision = field_getter(signal.prediction) if signal.prediction else None
    positive = signal.positive.strip().lower()
    scores, predicted, labels = [], [], []
    for observation in observations:
        value = score(observation)
        if value is None:
            continue
        scores.append(value)
        predicted.append(_is_positive(decision(observation), positive) if decision else 0)
        given = (observation.feedback or {}).get("label")
        labels.append(-1 if given is None else _is_positive(given, positive))
    return Scored(scores, np.array(predicted, dtype=np.int8), np.array(labels, dtype=np.int8))


def _is_positive(value: Any, positive: str) -> int:
    if isinstance(value, bool | int | float):
        return int(value >= 0.5) if not isinstance(value, bool) else int(value)
    return int(str(value).strip().lower() in (positive, "true", "1"))


def checked_scores(scores: Sequence[Any]) -> np.ndarray:
    """The scores as floats in [0, 1], or why not (a score is a probability here)."""
    array = np.asarray(scores, dtype=np.float64)
    outside = ~np.isfinite(array) | (array < 0) | (array > 1)
    if outside.any():
        bad = array[outside][0]
        raise EstimateError(
            f"{int(outside.sum())} score(s) outside [0, 1] (e.g. {bad:g}): estimated metrics "
            "read the score as the probability of the positive class"
        )
    return array


def calibrate_on(signal: Signal, labelled: Sequence[Observed]) -> Calibration:
    """The calibration of the signal's scores on the baseline's labelled observations."""
    rows = scored(signal, labelled).labelled()
    return calibrate(checked_scores(rows.scores), rows.labels)


def calibrate(scores: np.ndarray, labels: np.ndarray, seed: int = 0) -> Calibration:
    """Isotonic calibration on the baseline's labelled rows, kept only if, over held-out tenths
    of them, it lowers the expected calibration error: a model already calibrated is left as it
    is rather than fitted to its baseline's noise."""
    if scores.size < MIN_LABELLED:
        raise EstimateError(
            f"the baseline has {scores.size} labelled row(s); calibrating needs {MIN_LABELLED}: "
            "send labels as feedback for the baseline period"
        )
    positives = int(labels.sum())
    if positives == 0 or positives == labels.size:
        only = "positive" if positives else "negative"
        raise EstimateError(
            f"every labelled baseline row is {only}: a single class calibrates nothing"
        )
    rng = np.random.default_rng(seed)
    raw, fitted = [], []
    for _ in range(_SPLITS):
        test = rng.random(scores.size) < 0.1
        if test.all() or not test.any():
            continue
        model = _isotonic(scores[~test], labels[~test])
        raw.append((scores[test], labels[test]))
        fitted.append((model.apply(scores[test]), labels[test]))
    if _ece(raw) <= _ece(fitted):
        return Calibration()
    return _isotonic(scores, labels)


def _isotonic(scores: np.ndarray, labels: np.ndarray) -> Calibration:
    """Pool-adjacent-violators over the distinct scores, each weighted by its rows (rows tied
    in score are one point, as scikit-learn's IsotonicRegression makes them)."""
    from scipy.optimize import isotonic_regression  # only when a baseline is calibrated

    knots, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    means = np.bincount(inverse, weights=labels.astype(np.float64)) / counts
    fitted = isotonic_regression(means, weights=counts.astype(np.float64), increasing=True).x
    return Calibration(tuple(knots.tolist()), tuple(fitted.tolist()))


def _ece(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """Expected calibration error over the pooled held-out rows, in equal-count bins."""
    if not pairs:
        return 0.0
    p = np.concatenate([a for a, _ in pairs])
    y = np.concatenate([b for _, b in pairs])
    order = np.argsort(p, kind="stable")
    error = 0.0
    for part in np.array_split(order, _BINS):
        if part.size:
            error += part.size * abs(float(p[part].mean()) - float(y[part].mean()))
    return error / p.size


@dataclass(frozen=True)
class Estimate:
    value: float | None
    low: float | None
    high: float | None
    n: int


def estimate(
    metric: Metric,
    p: np.ndarray,
    predicted: np.ndarray,
    scores: np.ndarray,
    *,
    draws: int = DRAWS,
    seed: int = 0,
) -> Estimate:
    """The metric's expected value over one window's rows (calibrated probabilities `p`, 0/1
    `predicted`, raw `scores` for the ranking) and its 95% interval: for the four metrics of
    the confusion matrix from the variance of its counts (each a sum of independent coin flips;
    recall and f1 by the delta method), for roc_auc from `draws` label draws (0: no interval)."""
    n = int(p.size)
    if n == 0:
        return Estimate(None, None, None, 0)
    predicted = predicted.astype(bool)
    value = _expected(metric, p, predicted, scores)
    if metric != "roc_auc":
        spread = _spread(metric, p, predicted)
        if spread is None:
            return Estimate(value, None, None, n)
        return Estimate(value, max(0.0, value - _Z * spread), min(1.0, value + _Z * spread), n)
    if draws < 1:
        return Estimate(value, None, None, n)
    rng = np.random.default_rng(seed)
    per_slice = max(1, _MAX_DRAWN // n)
    ranks = _ranks(scores)
    drawn: list[np.ndarray] = []
    done = 0
    while done < draws:
        k = min(per_slice, draws - done)
        drawn.append(_realized_many(metric, rng.random((k, n)) < p, predicted, ranks))
        done += k
    values = np.concatenate(drawn)
    values = values[np.isfinite(values)]
    if not values.size:
        return Estimate(value, None, None, n)
    low, high = np.quantile(values, [0.025, 0.975])
    return Estimate(value, float(low), float(high), n)


_Z = 1.959964  # the normal's 97.5% point


def _spread(metric: Metric, p: np.ndarray, predicted: np.ndarray) -> float | None:
    """The standard deviation of a count metric when every label is a coin flip of its p:
    TP (over predicted positives) and FN (over predicted negatives) are independent sums."""
    positive_p, negative_p = p[predicted], p[~predicted]
    tp, fn = float(positive_p.sum()), float(negative_p.sum())
    var_tp = float((positive_p * (1 - positive_p)).sum())
    var_fn = float((negative_p * (1 - negative_p)).sum())
    n, n_predicted = p.size, int(predicted.sum())
    if metric == "accuracy":  # (TP + TN) / n, TN = predicted negatives - FN
        return float(np.sqrt(var_tp + var_fn)) / n
    if metric == "precision":  # TP / predicted positives: a fixed denominator
        return float(np.sqrt(var_tp)) / n_predicted if n_predicted else None
    if metric == "recall":  # TP / (TP + FN)
        total = tp + fn
        if total <= 0:
            return None
        return float(np.sqrt(fn**2 * var_tp + tp**2 * var_fn)) / total**2
    # f1 = 2 TP / (predicted positives + TP + FN)
    denominator = n_predicted + tp + fn
    if denominator <= 0:
        return None
    d_tp = 2 * (n_predicted + fn) / denominator**2
    d_fn = -2 * tp / denominator**2
    return float(np.sqrt(d_tp**2 * var_tp + d_fn**2 * var_fn))


def realized(
    metric: Metric, scores: np.ndarray, predicted: np.ndarray, labels: np.ndarray
) -> float | None:
    """The metric on rows whose labels came: what the estimate is judged against."""
    if not labels.size:
        return None
    value = _realized_many(metric, labels[None, :].astype(bool), predicted.astype(bool),
                           _ranks(scores) if metric == "roc_auc" else None)[0]  # fmt: skip
    return float(value) if np.isfinite(value) else None


def realized_on(signal: Signal, labelled: Sequence[Observed]) -> dict[str, Any]:
    """The signal's metric realized on a window's labelled observations, and on how many
    (None on none): what its estimate is held against once labels come."""
    assert signal.metric is not None
    rows = scored(signal, labelled).labelled()
    try:
        scores = checked_scores(rows.scores)
    except EstimateError:
        return {"realized": None, "realized_n": 0}
    value = realized(signal.metric, scores, rows.predicted, rows.labels)
    return {"realized": value, "realized_n": int(rows.labels.size)}


def _expected(metric: Metric, p: np.ndarray, predicted: np.ndarray, scores: np.ndarray) -> float:
    tp = float(p[predicted].sum())
    fp = float((1 - p[predicted]).sum())
    fn = float(p[~predicted].sum())
    tn = float((1 - p[~predicted]).sum())
    if metric == "accuracy":
        return (tp + tn) / p.size
    if metric == "precision":
        return tp / (tp + fp) if tp + fp else 0.0
    if metric == "recall":
        return tp / (tp + fn) if tp + fn else 0.0
    if metric == "f1":
        return tp / (tp + (fp + fn) / 2) if tp + fp + fn else 0.0
    return _expected_auc(p, scores)


def _expected_auc(p: np.ndarray, scores: np.ndarray) -> float:
    """Expected correctly ordered (positive, negative) pairs over the expected positives times
    the expected negatives: each row is a positive with probability p; a tie in score counts
    half, as sklearn's roc_auc does."""
    order = np.argsort(scores, kind="stable")
    s, q = scores[order], p[order]
    negatives = 1 - q
    below = np.cumsum(negatives) - negatives  # negatives strictly earlier in the order
    _, first, counts = np.unique(s, return_index=True, return_counts=True)
    tie_sum = np.add.reduceat(negatives, first)
    start_below = below[first]
    group = np.repeat(np.arange(first.size), counts)
    strictly_lower = start_below[group]
    same_score_others = tie_sum[group] - negatives
    pairs = float((q * (strictly_lower + same_score_others / 2)).sum())
    # expected positives times expected negatives, as NannyML's CBPE divides: a row cannot pair
    # with itself, but on real data this ratio estimates the realized AUC a little better
    total = float(q.sum() * negatives.sum())
    return pairs / total if total > 0 else 0.5


def _ranks(scores: np.ndarray) -> np.ndarray:
    """Average ranks (1-based), ties sharing their mean rank."""
    order = np.argsort(scores, kind="stable")
    ranks = np.empty(scores.size, dtype=np.float64)
    ranks[order] = np.arange(1, scores.size + 1)
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    return (sums / counts)[inverse]


def _realized_many(
    metric: Metric, labels: np.ndarray, predicted: np.ndarray, ranks: np.ndarray | None
) -> np.ndarray:
    """The metric for each row of `labels` (draws × rows), NaN where it is undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(_per_draw(metric, labels, predicted, ranks), dtype=np.float64)


def _per_draw(
    metric: Metric, labels: np.ndarray, predicted: np.ndarray, ranks: np.ndarray | None
) -> Any:
    if metric == "roc_auc":
        assert ranks is not None
        positives = labels.sum(axis=1).astype(np.float64)
        negatives = labels.shape[1] - positives
        rank_sum = labels.astype(np.float64) @ ranks
        return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
    tp = (labels & predicted).sum(axis=1).astype(np.float64)
    fp = (~labels & predicted).sum(axis=1).astype(np.float64)
    fn = (labels & ~predicted).sum(axis=1).astype(np.float64)
    n = labels.shape[1]
    if metric == "accuracy":
        return (n - fp - fn) / n
    if metric == "precision":
        return tp / (tp + fp)
    if metric == "recall":
        return tp / (tp + fn)
    return tp / (tp + (fp + fn) / 2)
