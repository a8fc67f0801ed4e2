"""A drift finding names its column by where the values come from: the output's label is the
output's, a metadata key is metadata, and only a bare name is an input (issue 18 item 5)."""

from __future__ import annotations

from typing import Any

from tests.monitor.test_engine import DAY, START, World, system
from watchkeeper.store import Store


def test_drift_findings_say_output_input_or_metadata_as_the_column_is(store: Store) -> None:
    """All three columns move on day 20: each finding's summary names its source."""
    world = World(
        store,
        system(
            {"alerts": [{"name": "moved", "drift": ["output.label", "channel", "metadata.region"]}]}
        ),
    )

    def item(day: int, i: int) -> dict[str, Any]:
        late = day >= 20
        return {
            "inputs": {"channel": ["email", "chat", "phone"][i % 3 if not late else 2]},
            "output": {"label": ["billing", "bug"][i % 2] if not late else "refund"},
            "metadata": {"region": ["eu", "us"][i % 2] if not late else "apac"},
        }

    world.feed(range(24), 60, item)
    drift = [f for f in world.tick_days(range(24)) if f.check == "drift"]
    first = {f.subject: f.summary for f in sorted(drift, key=lambda f: f.window_start)[::-1]}
    assert set(first) == {"output.label", "channel", "metadata.region"}
    assert first["output.label"].startswith("output 'label' drifted over ")
    assert first["channel"].startswith("input 'channel' drifted over ")
    assert first["metadata.region"].startswith("metadata 'region' drifted over ")
    assert min(f.window_start for f in drift) == START + 20 * DAY
    assert not any("input 'output." in f.summary for f in drift)
