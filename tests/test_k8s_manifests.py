"""deploy/k8s: each overlay renders with kustomize and every manifest passes
deploy/k8s/validate.py (Kubernetes' schemas, the operators' kinds, probes, limits, non-root,
disruption budgets, references), and the checks themselves catch what they are meant to."""
import copy
import functools
import importlib.util
from pathlib import Path

import pytest

from services.common.events import TRIAGE
from services.routing.directory import SHIPPED, read_entries

ROOT = Path(__file__).resolve().parents[1]


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


validate = load("k8s_validate", ROOT / "deploy" / "k8s" / "validate.py")
generate = load("k8s_generate_consumers", ROOT / "deploy" / "k8s" / "generate_consumers.py")


@functools.cache
def rendered(overlay: str) -> list[dict]:
    """Rendered once per run; a test that changes documents deep-copies them first."""
    return validate.render(overlay)


@pytest.fixture(params=validate.OVERLAYS)
def overlay(request):
    return request.param, rendered(request.param)


def of_kind(documents, kind):
    return [document for document in documents if document["kind"] == kind]


def named(documents, kind, name):
    [found] = [document for document in of_kind(documents, kind) if document["metadata"]["name"] == name]
    return found


def test_every_manifest_passes_the_checks(overlay):
    _name, documents = overlay
    assert validate.problems(documents) == []


def test_one_consumer_per_administration_scaled_on_its_own_queue(overlay):
    _name, documents = overlay
    codes = {entry["code"] for entry in read_entries(SHIPPED)} | {TRIAGE}
    consumers = {deployment["metadata"]["labels"]["chikaya.ma/administration"]: deployment
                 for deployment in of_kind(documents, "Deployment")
                 if deployment["metadata"]["labels"]["app.kubernetes.io/component"] == "ministry-consumer"}
    assert set(consumers) == codes
    scaled = {scaler["spec"]["scaleTargetRef"]["name"]: scaler["spec"]["triggers"]
              for scaler in of_kind(documents, "ScaledObject")}
    for code, deployment in consumers.items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["command"][-2:] == ["--administration", code]
        [trigger] = scaled[deployment["metadata"]["name"]]
        assert trigger["type"] == "rabbitmq" and trigger["metadata"]["queueName"] == f"administration.{code}"
        assert named(documents, "TriggerAuthentication", trigger["authenticationRef"]["name"])


def test_the_gateway_is_autoscaled_on_cpu_and_checks_the_broker_to_be_ready(overlay):
    _name, documents = overlay
    [autoscaler] = of_kind(documents, "HorizontalPodAutoscaler")
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "gateway"
    assert [metric["resource"]["name"] for metric in autoscaler["spec"]["metrics"]] == ["cpu"]
    [container] = named(documents, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_only_the_gateway_is_open_and_the_prosecution_database_only_to_its_service(overlay):
    _name, documents = overlay
    policies = of_kind(documents, "NetworkPolicy")
    assert any(policy["spec"]["podSelector"] == {} and policy["spec"]["policyTypes"] == ["Ingress"]
               and not policy["spec"].get("ingress") for policy in policies), "no default deny"
    open_to_all = [policy["spec"]["podSelector"] for policy in policies
                   if any("from" not in rule for rule in policy["spec"].get("ingress", []))]
    assert open_to_all == [{"matchLabels": {"app.kubernetes.io/name": "gateway"}}]

    prosecution_db = {"cnpg.io/cluster": "chikaya-prosecution-db"}
    [policy] = [policy for policy in policies if policy["spec"]["podSelector"].get("matchLabels") == prosecution_db]
    postgres_peers = [peer for rule in policy["spec"]["ingress"]
                      if any(port["port"] == 5432 for port in rule.get("ports", []))
                      for peer in rule["from"]]
    assert postgres_peers == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prosecution"}}},
                              {"podSelector": {"matchLabels": prosecution_db}}]
    [prosecution] = named(documents, "Deployment", "prosecution")["spec"]["template"]["spec"]["containers"]
    [url] = [variable["value"] for variable in prosecution["env"] if variable["name"] == "PROSECUTION_DATABASE_URL"]
    assert "@chikaya-prosecution-db-rw:" in url


def test_production_runs_three_rabbitmq_nodes_with_quorum_queues_and_pause_minority():
    documents = rendered("production")
    spec = named(documents, "RabbitmqCluster", "chikaya-rabbitmq")["spec"]
    settings = spec["rabbitmq"]["additionalConfig"].splitlines()
    assert spec["replicas"] == 3
    assert "cluster_partition_handling = pause_minority" in settings
    assert "default_queue_type = quorum" in settings
    assert {backup["spec"]["cluster"]["name"] for backup in of_kind(documents, "ScheduledBackup")} == {
        cluster["metadata"]["name"] for cluster in of_kind(documents, "Cluster")}


def test_the_committed_consumers_are_those_the_directory_generates():
    committed = {path.name: path.read_text(encoding="utf-8") for path in generate.OUTPUT.glob("*.yaml")}
    assert committed == generate.render(), "run: .venv/bin/python deploy/k8s/generate_consumers.py"


def without(mapping: dict, key: str) -> None:
    del mapping[key]


def gateway_container(documents):
    return named(documents, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]


# Each breaks one rendered manifest the way a careless edit would; the checks must say so.
BREAKAGES = {
    "a misspelt field": (lambda docs: gateway_container(docs).__setitem__(
        "livenessprobe", gateway_container(docs).pop("livenessProbe")), "livenessprobe"),
    "a missing readiness probe": (lambda docs: without(gateway_container(docs), "readinessProbe"),
                                  "no readinessProbe"),
    "a writable root filesystem": (lambda docs: gateway_container(docs)["securityContext"].__setitem__(
        "readOnlyRootFilesystem", False), "readOnlyRootFilesystem is not true"),
    "no memory limit": (lambda docs: without(gateway_container(docs)["resources"]["limits"], "memory"),
                        "no limits.memory"),
    "a workload without disruption budget": (lambda docs: docs.remove(
        named(docs, "PodDisruptionBudget", "intake")), "0 PodDisruptionBudgets select it"),
    "a probe on another heartbeat file": (lambda docs: named(docs, "Deployment", "stats")["spec"]["template"]
                                          ["spec"]["containers"][0]["livenessProbe"]["exec"]["command"]
                                          .__setitem__(3, "/tmp/elsewhere"), "LIVENESS_FILE"),
    "a KEDA mode that does not exist": (lambda docs: named(docs, "ScaledObject", "consumer-cnss")["spec"]
                                        ["triggers"][0]["metadata"].__setitem__("mode", "QueueDepth"),
                                        "'QueueDepth' is not one of"),
    "a five-field backup schedule": (lambda docs: named(docs, "ScheduledBackup", "chikaya-db-nightly")
                                     ["spec"].__setitem__("schedule", "0 2 * * *"), "schedule"),
    "a RabbitMQ setting in the wrong place": (lambda docs: named(docs, "RabbitmqCluster", "chikaya-rabbitmq")
                                              ["spec"].__setitem__("additionalConfig", "x = y"),
                                              "additionalConfig"),
    "a committed Secret": (lambda docs: docs.append(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "chikaya-amqp"},
         "stringData": {"uri": "amqp://u:p@h/"}}), "a Secret is committed"),
    "a kind nobody checks": (lambda docs: docs.append(
        {"apiVersion": "example.org/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {}}),
        "no schema for example.org/v1 Widget"),
    "an autoscaled Deployment that sets replicas": (lambda docs: named(docs, "Deployment", "gateway")
                                                    ["spec"].__setitem__("replicas", 2),
                                                    "sets replicas, which its autoscaler owns"),
}


@pytest.fixture(scope="module")
def dev_documents():
    """The dev overlay with one ministry consumer of the 98, which the checks treat alike."""
    return [document for document in rendered("dev")
            if not document["metadata"]["name"].startswith("consumer-")
            or document["metadata"]["name"] == "consumer-cnss"]


def test_the_reduced_overlay_passes_before_it_is_broken(dev_documents):
    assert validate.problems(dev_documents) == []


@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_the_checks_catch(breakage, dev_documents):
    break_it, expected = BREAKAGES[breakage]
    documents = copy.deepcopy(dev_documents)
    break_it(documents)
    found = validate.problems(documents)
    assert any(expected in problem for problem in found), found
