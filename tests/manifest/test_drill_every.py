"""`spec.kill_switch.drill_every`: a duration like the manifest's others, at least a day apart,
shown in `wk schema`; a bad one is a located problem, never a traceback."""

from __future__ import annotations

from datetime import timedelta

import pytest

from watchkeeper.manifest import ManifestError, SystemManifest, json_schema, load_text

SYSTEM = """\
apiVersion: watchkeeper/v1
kind: AISystem
metadata: {name: bot}
spec:
  charter: {owner: ana@corp.example}
  kill_switch:
    fail_mode: open
    drill_every: EVERY
"""


def load(text: str) -> SystemManifest:
    [system] = load_text(text, known_people=["ana@corp.example"]).systems
    return system


def test_a_drill_schedule_is_a_duration() -> None:
    system = load(SYSTEM.replace("EVERY", "90d"))
    assert system.spec.kill_switch.drill_every == timedelta(days=90)
    unset = load(SYSTEM.replace("    drill_every: EVERY\n", ""))
    assert unset.spec.kill_switch.drill_every is None


@pytest.mark.parametrize(
    ("every", "said"),
    [
        ("12h", "drills are at least a day apart, not 12h"),
        ("soon", "soon"),
        ("0d", "at least a day apart"),
    ],
)
def test_a_bad_drill_schedule_is_located(every: str, said: str) -> None:
    with pytest.raises(ManifestError) as caught:
        load(SYSTEM.replace("EVERY", every))
    [problem] = caught.value.problems
    assert problem.location.line == 8 and said in problem.message
    assert "drill_every" in problem.message


def test_the_schema_describes_it() -> None:
    described = json_schema()["$defs"]["KillSwitch"]["properties"]["drill_every"]
    assert "wk drill" in str(described)
