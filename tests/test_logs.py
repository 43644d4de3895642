"""services/common/logs.py: what every log line carries (the correlation id) and what it never
does (an e-mail address or a phone number), in both formats."""
import io
import json
import logging

import pytest

from services.common import logs


@pytest.fixture
def written():
    """A logger writing through ContextFilter, and what it wrote."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(logs.ContextFilter())
    logger = logging.getLogger("tests.logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    yield logger, handler, stream
    logger.removeHandler(handler)
    logs.bind()


@pytest.mark.parametrize("text, expected", [
    ("to fatima.elamrani@example.ma", "to [e-mail]"),
    ("Twilio: The 'To' number +212612345678 is not valid", "Twilio: The 'To' number [phone] is not valid"),
    ("00212612345678 and 0612345678", "[phone] and [phone]"),
    # what must stay: dates, event ids, tracking numbers, durations
    ("2026-03-01 12:00:00 0b7d1a2c-0612-4567-8901-061234567890 K7QM-2ZT9-W4HR8 in 0612.5 ms",
     "2026-03-01 12:00:00 0b7d1a2c-0612-4567-8901-061234567890 K7QM-2ZT9-W4HR8 in 0612.5 ms"),
])
def test_personal_contacts_are_masked_and_nothing_else(text, expected):
    assert logs.redact(text) == expected


def test_a_json_line_carries_the_correlation_id_and_no_contact(written):
    logger, handler, stream = written
    handler.setFormatter(logs.JsonFormatter())
    logs.bind("notify", "0123456789abcdef")
    logger.info("refused by the relay: %s", "550 <fatima@example.ma> no such mailbox")
    logs.bind_tracking_number("K7QM-2ZT9-W4HR8")
    try:
        raise ValueError("invalid number +212612345678")
    except ValueError:
        logger.exception("sending failed")
    first, second = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert first["message"] == "refused by the relay: 550 <[e-mail]> no such mailbox"
    assert (first["service"], first["request_id"], first["correlation_id"]) == (
        "notify", "0123456789abcdef", "0123456789abcdef")
    assert first["level"] == "INFO" and first["logger"] == "tests.logs" and "timestamp" in first
    assert second["correlation_id"] == "K7QM-2ZT9-W4HR8"  # the complaint, once it is known
    assert "ValueError: invalid number [phone]" in second["exc_info"]


def test_a_plain_line_carries_the_correlation_id_too(written):
    logger, handler, stream = written
    handler.setFormatter(logs.PlainFormatter())
    logs.bind("consumer", tracking_number="K7QM-2ZT9-W4HR8")
    logger.info("delivered")
    assert stream.getvalue().rstrip().endswith("consumer tests.logs INFO [K7QM-2ZT9-W4HR8] delivered")


def test_a_request_id_from_outside_is_kept_only_if_it_is_a_plain_token():
    assert logs.new_request_id("5f0c6a1e9b7d4c2a8e3f1b0d9c8a7e6f") == "5f0c6a1e9b7d4c2a8e3f1b0d9c8a7e6f"
    forged = logs.new_request_id('x"}\n{"level": "ERROR"')
    assert forged != 'x"}\n{"level": "ERROR"' and forged.isalnum()
    assert logs.new_request_id(None) != logs.new_request_id(None)


def test_only_what_looks_like_a_tracking_number_becomes_the_correlation_id():
    logs.bind("gateway", "req-00000001")
    for not_a_number in ("someone@example.ma", "0612345678", "+212612345678", "06-12-34-56-78"):
        logs.bind_tracking_number(not_a_number)
        assert logs.correlation_id() == "req-00000001"
    logs.bind_tracking_number("K7QM-2ZT9-W4HR8")
    assert logs.correlation_id() == "K7QM-2ZT9-W4HR8"
    assert logs.rpc_context() == {"request_id": "req-00000001"}
    logs.bind()
