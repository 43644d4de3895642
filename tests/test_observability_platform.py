"""The platform as `make run` starts it, with METRICS_PORT and LOG_FORMAT=json as in Kubernetes:
every process serves its metrics (the gateway's summed over gunicorn's workers by its master),
they hold every metric the alerts and the dashboard use, and a complaint's log lines carry its
correlation id through every service and none of the citizen's personal data."""
import json
import random
import socket

import promql_parser
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from scripts.run_platform import PROCESSES
from tests.conftest import wait_for
from tests.test_observability_manifests import (PROMETHEUS_SERIES, alert_rules, dashboard_queries,
                                                selected_metrics)

CITIZEN = {"full_name": "Fatima Zahra El Amrani", "status": "citizen", "id_type": "cnie",
           "id_number": "BK123456", "email": "fatima.elamrani@example.ma", "phone": "0612345678"}
PERSONAL = ["Fatima", "El Amrani", "BK123456", "fatima.elamrani@example.ma", "0612345678", "612345678"]
REQUEST_ID = "obs-test-request-0001"


def free_ports(count: int) -> int:
    """The first of `count` consecutive free ports."""
    for _attempt in range(50):
        first = random.randint(20000, 60000 - count)
        try:
            for port in range(first, first + count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port))
            return first
        except OSError:
            continue
    raise RuntimeError("no run of free ports")


FIRST_METRICS_PORT = free_ports(len(PROCESSES))


@pytest.fixture
def platform_env():
    return {"METRICS_PORT": str(FIRST_METRICS_PORT), "LOG_FORMAT": "json"}


def scrape(port: int) -> list:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=30).text
    return list(text_string_to_metric_families(text))


def value(families, name, **labels) -> float:
    return sum(sample.value for family in families for sample in family.samples
               if sample.name == name and labels.items() <= sample.labels.items())


def family_names(series: set[str]) -> set[str]:
    return {name.removesuffix("_bucket").removesuffix("_count").removesuffix("_sum").removesuffix("_total")
            for name in series}


def test_every_process_serves_its_metrics_and_a_complaint_is_followed_in_the_logs(platform, tmp_path):
    response = requests.post(f"{platform.base}/api/v1/complaints", headers={"X-Request-ID": REQUEST_ID}, json={
        "type": "complaint", "administration_code": "CNSS", "subject": "Retard de versement de la pension",
        "description": "Ma pension de retraite n'a pas été versée depuis trois mois.", "region": "CS",
        "language": "fr", "complainant": CITIZEN}, timeout=30)
    assert response.status_code == 201 and response.headers["X-Request-ID"] == REQUEST_ID
    number = response.json()["tracking_number"]
    wait_for(lambda: platform.inbox_file("CNSS", number).exists(), timeout=60, message="the delivery")
    wait_for(lambda: platform.sent("sms", number) and platform.sent("email", number), timeout=60,
             message="the SMS and the e-mail")

    ports = {name: FIRST_METRICS_PORT + offset for offset, name in enumerate(PROCESSES)}
    served = {name: scrape(port) for name, port in ports.items()}
    assert value(served["gateway"], "chikaya_http_request_duration_seconds_count",
                 method="POST", route="/api/v1/complaints", status="201") == 1
    assert value(served["intake"], "chikaya_complaints_filed_total", type="complaint") == 1
    assert value(served["routing"], "chikaya_complaints_routed_total", administration="CNSS") == 1
    assert value(served["consumer"], "chikaya_complaints_delivered_total", administration="CNSS") == 1
    wait_for(lambda: value(scrape(ports["notify"]), "chikaya_notifications_total", outcome="sent") == 2,
             message="notify to count both messages")
    assert value(served["stats"], "chikaya_entrypoint_duration_seconds_count",
                 service="stats", entrypoint="on_submitted", outcome="ok") == 1
    assert value(served["prosecution"], "chikaya_queue_consumers", queue="rpc-prosecution") == 1

    # every metric an alert or a panel uses is served by some process (an unused one as HELP/TYPE)
    used = set()
    for expr in [*alert_rules().values(), *dashboard_queries().values()]:
        used |= selected_metrics(promql_parser.parse(expr))
    exposed = {family.name for families in served.values() for family in families} | {
        sample.name for families in served.values() for family in families for sample in family.samples}
    assert family_names(used - PROMETHEUS_SERIES) <= family_names(exposed)

    log_text = (tmp_path / "platform.log").read_text(encoding="utf-8")
    for personal in PERSONAL:
        assert personal not in log_text
    assert "[e-mail]" not in log_text and "[phone]" not in log_text  # nothing even tried to log them
    lines = [json.loads(line) for line in log_text.splitlines() if line.startswith("{")]
    assert lines and all({"timestamp", "level", "logger", "message"} <= line.keys() for line in lines)
    about = [line for line in lines if line.get("correlation_id") == number]
    assert {line.get("service") for line in about} >= {"gateway", "intake", "routing", "consumer", "notify", "stats"}
    [request_line] = [line for line in lines if line.get("request_id") == REQUEST_ID
                      and line["message"].startswith("POST /api/v1/complaints ")]
    assert request_line["correlation_id"] == number
    [filing] = [line for line in about if line["message"].startswith("intake.submit ok")]
    assert filing["request_id"] == REQUEST_ID
