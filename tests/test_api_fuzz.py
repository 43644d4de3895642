"""The JSON API fuzzed from its own OpenAPI document (schemathesis, in-process through Flask's WSGI
app) against the real intake, routing and prosecution services: whatever it is sent, no answer is
a server error and every answer is one the document declares (status, content type, body schema).

FUZZ_EXAMPLES (default 12) bounds the cases per operation, so the whole run stays well under
90 seconds; the agent API is called with a valid bearer token, so its operations reach intake.
"""
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from tests.backoffice_support import add_token, file_complaint
from tests.prosecution_support import prosecution  # noqa: F401 (a fixture)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", 12))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def fuzzed_app(make_office, prosecution, stats):
    # one client address sends everything: the rate limits (tested on their own) stay out of the way
    app = make_office(TRACKING_RATE_LIMIT="100000 per minute", CAPTCHA_RATE_LIMIT="100000 per minute")
    file_complaint(app, "CNSS")  # something for the inbox and the lookups to find
    return app


def test_no_answer_is_a_server_error_or_breaks_the_document(fuzzed_app, capsys):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzzed_app)
    headers = {"Authorization": f"Bearer {add_token(fuzzed_app, 'CNSS')}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    failures, cases = [], 0

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            nonlocal cases
            cases += 1
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            fuzz()
        except (Exception, BaseExceptionGroup) as exc:  # each operation's failures, all reported together
            failures.append(f"{operation.label}: {exc}")
    with capsys.disabled():
        print(f"\nAPI fuzz: {cases} cases over {len(operations)} operations, {len(failures)} failing")
    assert not failures, "\n\n".join(failures)
