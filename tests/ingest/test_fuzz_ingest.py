"""Schema-driven fuzzing of the ingest routes alone (the whole document is fuzzed in
tests/server): whatever the body — valid for the document or not — no 5xx, and every answer is
one the document declares. Bounded: 25 examples per operation and backend."""

from __future__ import annotations

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

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OURS = ("/observations", "/feedback", "/flags", "/dead-letters", "/v1/traces")


def test_ingest_routes_never_fail_and_answer_as_documented(world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(world.app))
    headers = {"Authorization": f"Bearer {world.token('other_role_holder')}"}
    operations = [
        op for result in schema.get_all_operations() if (op := result.ok()).path.endswith(OURS)
    ]
    assert len(operations) == 6  # the five writers and the explorer
    for operation in operations:
        known = {"name": SYSTEM} if "{name}" in operation.path else None
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known),
        )

        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=cases)
        def answers_as_documented(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        answers_as_documented()
