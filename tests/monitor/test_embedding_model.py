"""Embedding drift with the real bundled model (the `embeddings` extra, installed by `make`).

Without the model these tests skip locally and FAIL in CI (CI=true), as the PostgreSQL ones do.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from tests.conftest import Cli
from tests.monitor._texts import replies
from tests.monitor.test_engine import DAY, START, World, system
from watchkeeper.monitor import column_drift
from watchkeeper.monitor.embedder import load_embedder
from watchkeeper.monitor.embedding import Embedder, embedding_drift, embedding_profile
from watchkeeper.store import Store

pytestmark = pytest.mark.slow  # started first (tests/conftest.py)

SEEDS = 50


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    loaded = load_embedder()
    if loaded is None:
        message = "the embedding model is not installed (`make install` puts it in .venv)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI requires the embedding run", pytrace=False)
        pytest.skip(message)
    return loaded


def test_the_model_loads_offline_and_gives_unit_vectors(embedder: Embedder) -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    vectors = embedder.embed(["Your parcel is on its way.", "Your package has shipped."])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert float(vectors[0] @ vectors[1]) > 0.5
    assert embedder.embed([]).shape == (0, 384)


def test_no_drift_on_the_usual_mix_across_50_seeds(embedder: Embedder) -> None:
    """One stored baseline, 50 windows of the same mix: as a deployment lives through them."""
    rng = np.random.default_rng(0)
    ref = embedding_profile(embedder.embed(replies(rng, 1000)), embedder.name)
    pool = embedder.embed(replies(rng, 1000))
    shares = []
    for seed in range(SEEDS):
        window = pool[np.random.default_rng(seed).choice(len(pool), 150, replace=False)]
        verdict = embedding_drift("reply", ref, embedding_profile(window, ref.model, reference=ref))
        assert verdict.drifted is False, f"seed {seed}: {verdict.score:.1%} of components drifted"
        shares.append(verdict.score)
    assert max(shares) > 0  # the components were tested, and some moved by chance


def test_a_change_of_subject_at_equal_length_is_caught_where_length_sees_nothing(
    embedder: Embedder,
) -> None:
    rng = np.random.default_rng(1)
    usual, moved = replies(rng, 1000), replies(rng, 150, shifted=0.5)
    ref = embedding_profile(embedder.embed(usual), embedder.name)
    current = embedding_profile(embedder.embed(moved), embedder.name, reference=ref)
    verdict = embedding_drift("reply", ref, current)
    assert verdict.drifted is True
    assert verdict.detail["mean_cosine_distance"] > 0.01
    lengths = column_drift(
        "length",
        np.array([len(t) for t in usual], float),
        np.array([len(t) for t in moved], float),
    )
    assert lengths.drifted is False


def test_the_monitor_finds_a_change_of_subject_in_the_outputs(
    store: Store, embedder: Embedder
) -> None:
    runbook = {
        "baseline": {"first": "7d"},
        "alerts": [{"name": "what-it-says", "drift": ["output_embedding"], "severity": "error"}],
    }
    asked: list[int] = []

    class Recorded:
        name = embedder.name

        def embed(self, texts: Sequence[str]) -> np.ndarray:
            asked.append(len(texts))
            return embedder.embed(texts)

    world = World(store, system(runbook), embedder=Recorded)
    rng = np.random.default_rng(3)
    world.feed(range(12), 60, lambda d, i: {"output": replies(rng, 1, 0.6 if d >= 9 else 0)[0]})
    found = [f for f in world.tick_days(range(12)) if f.check == "drift"]
    # One batch of texts per embedding, all in the read phase: the baseline's with the first
    # evaluation, then one per due day (days 7 to 11); the short write unit asks for nothing.
    assert len(asked) == 1 + 5 and 0 not in asked
    assert found and min(f.window_start for f in found) == START + 9 * DAY
    assert {f.subject for f in found} == {"output_embedding"}
    assert all(f.rule == "what-it-says" and f.severity == "error" for f in found)
    assert "embedding components moved" in found[0].summary
    assert found[0].evidence["column"]["detail"]["model"] == embedder.name
    assert world.monitor.evaluate("bot", START + 12 * DAY).new == []
    with store.read() as unit:
        assert set(unit.monitoring.baseline_profiles("bot")) == {
            f"output_embedding@{embedder.name}"
        }


def test_wk_drift_compares_a_text_column_by_what_it_says(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    embedder: Embedder,
) -> None:
    wk = Cli(f"sqlite:///{tmp_path / 'unused.db'}", capsys, monkeypatch)  # files only, no store
    rng = np.random.default_rng(4)
    files = {}
    for name, shifted in (("ref", 0.0), ("same", 0.0), ("moved", 0.6)):
        texts = replies(rng, 400 if name == "ref" else 150, shifted)
        files[name] = tmp_path / f"{name}.csv"
        pacsv.write_csv(pa.table({"reply": texts, "n": [len(t) for t in texts]}), files[name])
    ref = str(files["ref"])
    code, out, _ = wk("drift", ref, str(files["moved"]), "--embed", "reply", "--json")
    report = json.loads(out)
    assert code == 1 and report["drifted"] == ["reply"]
    (reply,) = (c for c in report["columns"] if c["column"] == "reply")
    assert reply["kind"] == "embedding" and reply["method"] == "ratio"
    code, out, _ = wk("drift", ref, str(files["same"]), "--embed", "reply")
    assert code == 0 and "embedding" in out and "0 of 2 columns drifted" in out
    code, _, err = wk("drift", ref, str(files["same"]), "--embed", "answer")
    assert code == 2 and "no column named 'answer'" in err
