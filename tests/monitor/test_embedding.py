"""Embedding drift as pure statistics over vectors with a known truth (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest

from watchkeeper.monitor.embedding import (
    EmbeddingProfile,
    embedding_drift,
    embedding_profile,
    merge_embedding,
)

DIM = 32


def vectors(rng: np.random.Generator, n: int, shift: float = 0.0, moved: int = DIM) -> np.ndarray:
    """Correlated components, as real embeddings have: a few latent factors mixed into DIM."""
    mixing = np.random.default_rng(0).normal(size=(8, DIM))
    data = rng.normal(size=(n, 8)) @ mixing + rng.normal(scale=0.5, size=(n, DIM))
    data[:, :moved] += shift
    return data


def reference(rng: np.random.Generator, n: int = 2000) -> EmbeddingProfile:
    return embedding_profile(vectors(rng, n), "m")


def test_same_distribution_stays_quiet_across_50_seeds() -> None:
    alarms = 0
    for seed in range(50):
        rng = np.random.default_rng(seed)
        ref = reference(rng)
        current = embedding_profile(vectors(rng, 200), "m", reference=ref)
        alarms += bool(embedding_drift("text", ref, current).drifted)
    assert alarms == 0


def test_a_shift_in_most_components_is_drift_with_its_evidence() -> None:
    rng = np.random.default_rng(7)
    ref = reference(rng)
    current = embedding_profile(vectors(rng, 200, shift=1.5), "m", reference=ref)
    verdict = embedding_drift("text", ref, current)
    assert verdict.drifted is True and verdict.kind == "embedding" and verdict.method == "ratio"
    assert verdict.score is not None and verdict.score >= 0.1
    assert verdict.detail["drifted_components"] == round(verdict.score * DIM)
    assert verdict.detail["component_method"] == "ks"
    assert verdict.detail["mean_cosine_distance"] > 0.01
    assert len(verdict.detail["top_components"]) == 5


def test_a_shift_in_too_few_components_stays_under_the_share() -> None:
    rng = np.random.default_rng(11)
    ref = reference(rng)
    current = embedding_profile(vectors(rng, 400, shift=3.0, moved=2), "m", reference=ref)
    verdict = embedding_drift("text", ref, current)
    assert verdict.drifted is False
    assert verdict.detail["drifted_components"] >= 2
    assert embedding_drift("text", ref, current, share=0.05).drifted is True


def test_large_samples_use_wasserstein_per_component() -> None:
    rng = np.random.default_rng(5)
    ref = reference(rng, 3000)
    current = embedding_profile(vectors(rng, 3000), "m", reference=ref)
    verdict = embedding_drift("text", ref, current)
    assert verdict.detail["component_method"] == "wasserstein" and verdict.drifted is False


def test_profiles_merge_exactly_and_survive_storage() -> None:
    rng = np.random.default_rng(2)
    ref = reference(rng)
    first, second = vectors(rng, 70), vectors(rng, 90)
    merged = merge_embedding(
        embedding_profile(first, "m", reference=ref, null_count=1),
        embedding_profile(second, "m", reference=ref, null_count=2),
    )
    whole = embedding_profile(np.vstack([first, second]), "m", reference=ref, null_count=3)
    assert merged == whole
    assert EmbeddingProfile.from_dict(whole.to_dict()) == whole
    assert np.allclose(whole.mean, np.vstack([first, second]).mean(axis=0))


def test_nothing_to_compare_gives_no_verdict_and_says_why() -> None:
    rng = np.random.default_rng(3)
    ref = reference(rng)
    empty = embedding_profile(np.empty((0, DIM)), "m", reference=ref, null_count=4)
    verdict = embedding_drift("text", ref, empty)
    assert verdict.drifted is None and verdict.detail["reason"] == "current has no texts"
    assert verdict.detail["current_nulls"] == 4


def test_mismatched_models_and_shapes_are_refused() -> None:
    rng = np.random.default_rng(4)
    ref = reference(rng)
    other = embedding_profile(vectors(rng, 50), "other")
    with pytest.raises(ValueError, match="compare embeddings of one model"):
        embedding_drift("text", ref, other)
    with pytest.raises(ValueError, match="cannot merge"):
        merge_embedding(ref, other)
    with pytest.raises(ValueError, match="another model"):
        embedding_profile(np.ones((3, DIM + 1)), "m", reference=ref)
    with pytest.raises(ValueError, match="2-D"):
        embedding_profile(np.ones(DIM), "m")
    with pytest.raises(ValueError, match="share"):
        embedding_drift("text", ref, ref, share=0)
