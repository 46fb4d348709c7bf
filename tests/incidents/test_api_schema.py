"""schemathesis against /api/v1/openapi.json: no server error, answers as documented, and a
viewer's token writes nothing. A bounded number of examples per operation keeps it quick."""

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from sqlalchemy import func, select

from comms.models import Base

# The answers must be what the document says (status, content type, JSON shape) and never a
# server error. The document describes answers, not every rule of valid input, so schemathesis's
# guesses at what input is acceptable are not checked.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]

EXAMPLES = int(os.environ.get("COMMS_SCHEMA_EXAMPLES", "4"))
WRITES = {"POST", "PATCH", "PUT", "DELETE"}


def _rows(db_session) -> dict[str, int]:
    """How many rows each table holds (api_tokens' last_used_at is not counted)."""
    return {
        table.name: db_session.scalar(select(func.count()).select_from(table))
        for table in Base.metadata.sorted_tables
    }


def _run(app, token: str, ref: str, on_response) -> int:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    calls = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        def check(case):
            nonlocal calls
            if calls % 4 and "ref" in (case.path_parameters or {}):
                case.path_parameters["ref"] = ref  # most cases name the incident that exists
            if calls % 4 and "number" in (case.path_parameters or {}):
                case.path_parameters["number"] = "1"
            auth = {"Authorization": f"Bearer {token}"}
            response = case.call(headers=auth)
            calls += 1
            case.validate_response(response, checks=CHECKS, headers=auth)
            on_response(case, response)

        check()
    return calls


@pytest.mark.parametrize("role", ["manager", "viewer"])
def test_the_api_answers_as_documented(app, api, incident, db_session, role):
    client = api(role)
    token = client.environ_base["HTTP_AUTHORIZATION"].removeprefix("Bearer ")
    before = _rows(db_session)

    def on_response(case, response):
        assert response.status_code < 500, (case.method, case.path, response.text[:300])
        if role == "viewer" and case.method.upper() in WRITES and "webhook" not in case.path:
            assert response.status_code in (401, 403, 404, 405), (case.method, case.path)

    assert _run(app, token, incident.reference, on_response) > 0
    if role == "viewer":
        db_session.expire_all()
        assert _rows(db_session) == before  # nothing the viewer sent was written
