"""Any input gives a model or a located ManifestError — never another exception."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from watchkeeper.manifest import ManifestError, load_text

from .test_errors import GOOD

KEYS = [
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "name",
    "charter",
    "owner",
    "runbook",
    "alerts",
    "signals",
    "drop",
    "every",
    "from",
    "tier",
    "kill_authority",
    "people",
    "email",
    "playbook",
    "levels",
    "after",
    "notify",
    "contract",
    "values",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["AISystem", "People", "watchkeeper/v1", "30d", "20%", "a@b.example"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=5
        ),
    ),
    max_leaves=25,
)


def _load(text: str) -> None:
    try:
        load_text(text, "fuzz.yaml")
    except ManifestError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.location.file == "fuzz.yaml"
            assert problem.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    _load(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_arbitrary_structures(doc: object) -> None:
    _load(json.dumps(doc))
    _load(json.dumps({"apiVersion": "watchkeeper/v1", "kind": "AISystem", "metadata": doc}))
    _load(
        json.dumps(
            {
                "apiVersion": "watchkeeper/v1",
                "kind": "AISystem",
                "metadata": {"name": "x"},
                "spec": doc,
            }
        )
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(GOOD) - 1), st.integers(1, 6), st.text(max_size=6))
def test_mutated_manifest(at: int, cut: int, insert: str) -> None:
    _load(GOOD[:at] + insert + GOOD[at + cut :])
