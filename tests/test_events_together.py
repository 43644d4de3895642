"""Events handled together (services/common/handlers.py, BatchedEventHandler): the events of a
queue that arrive at once are one worker and one transaction, all or nothing; when the lot
fails, each event goes again alone, so a bad event is parked and the others count once.

The events wait in their queue while the service is stopped, so that the restarted service
receives them at once (its prefetch: the broker sends them in one burst)."""
import logging

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_hook

from services.common.handlers import dead_letter_queue_name
from services.common.logs import ContextFilter
from services.stats.service import StatsService
from tests.conftest import wait_for
from tests.helpers import rows, take
from tests.stats_support import submitted

NUMBERS = [f"TOGE-THER-{index:05d}" for index in range(6)]


def submitted_counter(db_url) -> int:
    found = rows(db_url, "select value from counters where scope = 'complaints' and breakdown = 'all'"
                         " and figure = 'submitted'")
    return found[0]["value"] if found else 0


def handled(db_url) -> int:
    return len(rows(db_url, "select event_id from processed_events where consumer = 'stats.on_submitted'"))


@pytest.fixture
def stopped_stats(start_service, container_factory):
    """Stats started once (its queues declared), then stopped; `restart()` starts it again on
    the same database."""
    first = start_service(StatsService)
    first.stop()

    def restart():
        again = container_factory(StatsService, first.config)
        again.start()
        again.db_url = first.db_url
        return again
    return first.db_url, restart


def test_events_that_arrive_together_are_handled_once_each_in_one_transaction(
        stopped_stats, rabbit_config, amqp_uri, caplog):
    db_url, restart = stopped_stats
    events = [submitted(number) for number in NUMBERS]
    dispatch = event_dispatcher(rabbit_config)
    for event in events + events[:2]:  # two of them delivered twice
        dispatch("intake", "complaint.submitted", event)
    caplog.handler.addFilter(ContextFilter())  # what every log handler of the services has
    with caplog.at_level(logging.INFO):
        stats = restart()
        wait_for(lambda: handled(db_url) == len(NUMBERS), message="every event handled")
    assert submitted_counter(db_url) == len(NUMBERS)
    together = [record for record in caplog.records if "events together" in record.getMessage()]
    assert together, "no events were handled together"
    # one line per event, each with its own complaint's number
    assert {record.correlation_id for record in together} <= set(NUMBERS)
    stats.stop()
    # all acked: nothing comes back to the queue once the service is gone
    assert take(amqp_uri, "evt-intake-complaint.submitted--stats.on_submitted") is None


def test_a_bad_event_among_others_is_parked_and_the_others_count_once(
        stopped_stats, rabbit_config, amqp_uri, caplog):
    db_url, restart = stopped_stats
    dispatch = event_dispatcher(rabbit_config)
    events = [submitted(number) for number in NUMBERS]
    for event in events[:3] + [{"tracking_number": "no envelope"}] + events[3:]:
        dispatch("intake", "complaint.submitted", event)
    with caplog.at_level(logging.WARNING):
        restart()
        parked = wait_for(lambda: take(amqp_uri, dead_letter_queue_name("stats"), raw=True),
                          message="the parked event")
        wait_for(lambda: handled(db_url) == len(NUMBERS), message="the good events handled")
    assert parked.decode() == {"tracking_number": "no envelope"}
    assert submitted_counter(db_url) == len(NUMBERS)
    assert any("each goes again alone" in record.getMessage() for record in caplog.records)


def test_a_lot_is_all_or_nothing(start_service):
    stats = start_service(StatsService)
    good = [submitted(number) for number in NUMBERS[:3]]
    with entrypoint_hook(stats, "on_submitted") as on_submitted, pytest.raises(Exception):
        on_submitted(good + [{"tracking_number": "no envelope"}])
    assert (handled(stats.db_url), submitted_counter(stats.db_url)) == (0, 0)
    with entrypoint_hook(stats, "on_submitted") as on_submitted:
        on_submitted(good + good[:1])  # an event twice in one lot counts once
    assert (handled(stats.db_url), submitted_counter(stats.db_url)) == (3, 3)
