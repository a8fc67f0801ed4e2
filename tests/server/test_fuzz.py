"""Schema-driven fuzzing of /openapi.json: whatever the request — valid or not for the document —
no 5xx, and every answer is one the document declares (status, content type, body shape).

Bounded: 10 examples per operation and backend. Driven through schemathesis' Hypothesis
strategies from a plain test, so the database fixtures (SQLite and PostgreSQL) apply.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server._world import SYSTEM, World
from watchkeeper.server import create_app

pytestmark = pytest.mark.slow  # started first (tests/conftest.py)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 10
KNOWN = {"name": SYSTEM, "email": "zed@corp.example"}


def test_no_server_error_and_every_answer_is_documented(world: World) -> None:
    # long-polls capped at 10 ms, so a fuzzed `wait=60` costs nothing
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(world.app, max_wait=0.01))
    # the admin reaches the most code: every change is either allowed or a documented 403
    headers = {"Authorization": f"Bearer {world.token('admin')}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:
        # random names rarely exist: also aim at a real system and person, to reach past 404
        known = {k: v for k, v in KNOWN.items() if f"{{{k}}}" in operation.path}
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known or None),
        )

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def answers_as_documented(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        answers_as_documented()
