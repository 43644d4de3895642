"""deploy/k8s/base/observability: the alerting rules and the Grafana dashboard are PromQL that
Prometheus would run, name only metrics the code exports (so they cannot drift apart), and
Prometheus can reach every process that serves them."""
import copy
import functools
import importlib.util
import json
import re
from pathlib import Path

import promql_parser
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
OBSERVABILITY = ROOT / "deploy" / "k8s" / "base" / "observability"
# what Prometheus itself makes, not the code
PROMETHEUS_SERIES = {"up"}
# how each kind of metric shows in a scrape
SUFFIXES = {"Counter": ("_total",), "Histogram": ("_bucket", "_count", "_sum"), "Gauge": ("",),
            "GaugeMetricFamily": ("",)}
DEFINITION = re.compile(r"\b(Counter|Histogram|Gauge|GaugeMetricFamily)\(\s*\"(chikaya_[a-z0-9_]+)\"")


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


validate = load("k8s_validate_observability", ROOT / "deploy" / "k8s" / "validate.py")


@functools.cache
def exported() -> set[str]:
    """Every series name the code of the services, the consumer and the gateway can export."""
    names = set()
    for path in [*ROOT.glob("services/**/*.py"), *ROOT.glob("gateway/**/*.py")]:
        for kind, name in DEFINITION.findall(path.read_text(encoding="utf-8")):
            base = name.removesuffix("_total") if kind == "Counter" else name
            names |= {base + suffix for suffix in SUFFIXES[kind]}
    return names


def selected_metrics(expr) -> set[str]:
    """The metric names a parsed PromQL expression selects."""
    found = set()
    promql_parser.walk(expr, lambda node: found.add(node.name)
                       if isinstance(node, promql_parser.VectorSelector) else None)
    return found


def alert_rules() -> dict[str, str]:
    document = yaml.safe_load((OBSERVABILITY / "prometheus-rules.yaml").read_text(encoding="utf-8"))
    return {rule["alert"]: rule["expr"] for group in document["spec"]["groups"] for rule in group["rules"]}


def dashboard_queries() -> dict[str, str]:
    """{panel title (and target): PromQL}, with Grafana's variables as Prometheus would get them."""
    dashboard = json.loads((OBSERVABILITY / "grafana-dashboard.json").read_text(encoding="utf-8"))
    queries = {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"].replace("$__rate_interval", "5m").replace("$namespace", "chikaya")
            queries[f"{panel['title']} ({target['refId']})"] = expr
    return queries


def test_the_code_exports_what_observability_needs():
    """The grep below finds the definitions: if it found nothing, the next tests would prove nothing."""
    assert {"chikaya_complaints_filed_total", "chikaya_http_request_duration_seconds_bucket",
            "chikaya_dead_letter_messages", "chikaya_outbox_oldest_age_seconds"} <= exported()


@pytest.mark.parametrize("source", ["rules", "dashboard"])
def test_every_query_is_promql_on_metrics_the_code_exports(source):
    queries = alert_rules() if source == "rules" else dashboard_queries()
    assert queries
    for where, expr in queries.items():
        names = selected_metrics(promql_parser.parse(expr))
        assert names, f"{where} selects no metric"
        assert names <= exported() | PROMETHEUS_SERIES, f"{where}: {names - exported()} is exported by no code"


def test_the_alerts_an_operator_is_woken_for():
    document = yaml.safe_load((OBSERVABILITY / "prometheus-rules.yaml").read_text(encoding="utf-8"))
    critical = {rule["alert"]: selected_metrics(promql_parser.parse(rule["expr"]))
                for group in document["spec"]["groups"] for rule in group["rules"]
                if rule["labels"]["severity"] == "critical"}
    watched = set().union(*critical.values())
    for metric in ("chikaya_dead_letter_messages", "chikaya_outbox_oldest_age_seconds",
                   "chikaya_administration_queue_consumers", "chikaya_complaints_delivered_total",
                   "chikaya_complaints_overdue_total", "chikaya_notifications_total"):
        assert metric in watched, f"no critical alert watches {metric}"


@functools.cache
def rendered(overlay: str) -> tuple:
    return tuple(validate.render(overlay))


def matches(selector: dict, labels: dict) -> bool:
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
    return all(labels.get(key) == value for key, value in selector.get("matchLabels", {}).items())


@pytest.mark.parametrize("overlay", validate.OVERLAYS)
def test_prometheus_scrapes_every_process_it_may_reach(overlay):
    documents = rendered(overlay)
    [monitor] = [document for document in documents if document["kind"] == "PodMonitor"]
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    [policy] = [document for document in documents if document["kind"] == "NetworkPolicy"
                and document["metadata"]["name"] == "metrics-from-monitoring"]
    [rule] = policy["spec"]["ingress"]
    assert rule["from"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]
    assert rule["ports"] == [{"protocol": "TCP", "port": endpoint["port"]}]

    deployments = [document for document in documents if document["kind"] == "Deployment"
                   and document["metadata"]["labels"].get("app.kubernetes.io/component")
                   in ("gateway", "service", "ministry-consumer")]
    assert len(deployments) == 6 + 98  # the gateway, five services, a consumer per administration and triage
    for deployment in deployments:
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        env = {variable["name"]: variable.get("value") for variable in container["env"]}
        [port] = [port for port in container["ports"] if port["name"] == endpoint["port"]]
        assert env["METRICS_PORT"] == str(port["containerPort"]), deployment["metadata"]["name"]
        assert matches(monitor["spec"]["selector"], labels), deployment["metadata"]["name"]
        assert matches(policy["spec"]["podSelector"], labels), deployment["metadata"]["name"]
    gateway = next(deployment for deployment in deployments if deployment["metadata"]["name"] == "gateway")
    [container] = gateway["spec"]["template"]["spec"]["containers"]
    assert "python:gateway.gunicorn_config" in container["command"]
    assert any(variable["name"] == "PROMETHEUS_MULTIPROC_DIR" for variable in container["env"])
    [service] = [document for document in documents if document["kind"] == "Service"
                 and document["metadata"]["name"] == "gateway"]
    assert [port["targetPort"] for port in service["spec"]["ports"]] == ["http"]  # metrics stay inside


def test_the_dashboard_ships_as_a_configmap_grafana_loads():
    documents = rendered("dev")
    [config_map] = [document for document in documents if document["kind"] == "ConfigMap"
                    and document["metadata"]["name"] == "chikaya-grafana-dashboard"]
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["chikaya.json"]) == json.loads(
        (OBSERVABILITY / "grafana-dashboard.json").read_text(encoding="utf-8"))


def monitoring_documents():
    return [copy.deepcopy(document) for document in rendered("dev")
            if document["kind"] in ("PrometheusRule", "PodMonitor")
            or document["metadata"]["name"] in ("consumer-cnss", "gateway")]


def test_the_checks_catch_a_rule_that_is_not_promql():
    documents = monitoring_documents()
    [rules] = [document for document in documents if document["kind"] == "PrometheusRule"]
    rules["spec"]["groups"][0]["rules"][0]["expr"] = "rate(sum(chikaya_dead_letter_messages))"
    assert any("ChikayaDeadLettersGrowing: expr is not PromQL" in problem
               for problem in validate.problems(documents))


def test_the_checks_catch_metrics_served_on_a_port_prometheus_does_not_scrape():
    documents = monitoring_documents()
    [consumer] = [document for document in documents
                  if document["kind"] == "Deployment" and document["metadata"]["name"] == "consumer-cnss"]
    [container] = consumer["spec"]["template"]["spec"]["containers"]
    container["ports"][0]["containerPort"] = 9200
    assert any("no port named `metrics` has that number" in problem for problem in validate.problems(documents))


def test_the_checks_catch_a_misspelt_pod_monitor_field():
    documents = monitoring_documents()
    [monitor] = [document for document in documents if document["kind"] == "PodMonitor"]
    monitor["spec"]["podMetricEndpoints"] = monitor["spec"].pop("podMetricsEndpoints")
    assert any("podMetricEndpoints" in problem for problem in validate.problems(documents))
