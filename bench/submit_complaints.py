"""Submit complaints through the HTTP API with concurrency, against the whole platform as
`make run` starts it, and against a bare Flask endpoint served the same way in the same run.

Prints throughput and p50/p95/p99 latency for both; for the whole pipeline (from the HTTP
call to the complaint in the ministry consumer's inbox and the citizen's SMS recorded) the
p50/p95/p99 latency and the throughput; the CPU time each process of the platform spent per
complaint while the measured requests went through the whole pipeline (utime + stime from
/proc), the steady figure on a machine shared with other work; the same for this machine's
PostgreSQL and RabbitMQ, for the benchmark's own clients and for the whole machine (busy time
of all cores from /proc/stat), which bounds the rate the machine can carry at all; with
--postgres, the transactions each service's database committed per complaint; and the broker
connections before and after (the gateway must reuse its RPC connections, not open one per
request).

    make bench                      # or: .venv/bin/python bench/submit_complaints.py -n 400 -c 16 [--postgres]
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WARM_UP = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code < 500:
                return
        except requests.RequestException:  # not listening yet, or still starting
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not come up")


def complaint(number: int) -> dict:
    return {
        "type": "complaint", "administration_code": "CNSS", "region": "CS", "language": "ar",
        "subject": f"Retard de pension n°{number}",
        "description": "Ma pension n'a pas été versée depuis trois mois malgré mes relances.",
        "complainant": {"full_name": "Fatima Zahra El Amrani", "status": "citizen", "id_type": "cnie",
                        "id_number": "BK123456", "email": f"citizen{number}@example.ma",
                        "phone": "0612345678"},
    }


def load(url: str, total: int, concurrency: int) -> dict:
    """POST `total` complaints with `concurrency` clients; latencies of the 2xx answers."""
    sessions = {}

    def one(number):
        session = sessions.setdefault(number % concurrency, requests.Session())
        sent_at, started = time.time(), time.perf_counter()
        try:
            response = session.post(url, json=complaint(number), timeout=30)
        except requests.ConnectionError:  # e.g. a keep-alive connection gunicorn closed meanwhile
            return time.perf_counter() - started, "connection error", sent_at, None
        tracking = response.json().get("tracking_number") if response.status_code == 201 else None
        return time.perf_counter() - started, response.status_code, sent_at, tracking

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - started
    latencies = sorted(latency for latency, status, _at, _tracking in results if status in (200, 201))
    errors = sum(1 for _latency, status, _at, _tracking in results if status not in (200, 201))
    return {"requests": total, "errors": errors, "seconds": elapsed, "throughput": total / elapsed,
            **percentiles(latencies),
            "sent_at": {tracking: at for _latency, _status, at, tracking in results if tracking}}


def percentiles(seconds: list[float]) -> dict:
    """p50, p95 and p99 in milliseconds."""
    cuts = statistics.quantiles(sorted(seconds), n=100) if len(seconds) > 1 else [float("nan")] * 99
    return {"p50": cuts[49] * 1000, "p95": cuts[94] * 1000, "p99": cuts[98] * 1000}


def pipeline(sent_at: dict, inbox: Path, sms_log: Path) -> dict:
    """For each complaint filed: from its HTTP call to the later of its file in the ministry's
    inbox and its SMS recorded by notify."""
    sms = {}
    for line in sms_log.read_text("utf-8").splitlines() if sms_log.exists() else []:
        record = json.loads(line)
        sms[record["tracking_number"]] = datetime.fromisoformat(record["sent_at"]).timestamp()
    done = {}
    for tracking, at in sent_at.items():
        path = inbox / f"{tracking}.json"
        if path.exists() and tracking in sms:
            done[tracking] = max(path.stat().st_mtime, sms[tracking]) - at
    span = max(at + done[tracking] for tracking, at in sent_at.items() if tracking in done) - min(sent_at.values())
    return {"complete": len(done), "throughput": len(done) / span, **percentiles(list(done.values()))}


def broker_connections(vhost: str) -> int:
    out = subprocess.run(["rabbitmqctl", "-q", "list_connections", "-p", vhost, "name"],
                         capture_output=True, text=True, check=True).stdout
    return len([line for line in out.splitlines() if line.strip() and line.strip() != "name"])


def gunicorn(app: str, port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}",
                             "--workers", env["GATEWAY_WORKERS"], "--threads", env["GATEWAY_THREADS"],
                             app], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def create_databases(server_url: str, prefix: str, env: dict,
                     services=("intake", "routing", "notify", "stats")) -> list[str]:
    import psycopg2
    names = []
    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        for service in services:
            name = f"{prefix}_{service}".replace("-", "_")
            cursor.execute(f'CREATE DATABASE "{name}"')
            names.append(name)
            env[f"{service.upper()}_DATABASE_URL"] = f"{server_url.rsplit('/', 1)[0]}/{name}"
    connection.close()
    return names


def drop_databases(server_url: str, names: list[str]) -> None:
    if not names:
        return
    import psycopg2
    connection = psycopg2.connect(server_url)
    connection.autocommit = True
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    connection.close()


def descendants(pid: int) -> list[int]:
    try:
        children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return children + [grandchild for child in children for grandchild in descendants(child)]


def process_name(pid: int) -> str:
    """What a process of `make run` is: a service, the consumer, the gateway (gunicorn), the launcher."""
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
    except OSError:
        return "?"
    for argument in arguments:
        if argument.startswith("services.") and argument.endswith(".service"):
            return argument.split(".")[1]
    if "services.routing.consumer" in arguments:
        return "consumer"
    if any("gateway.wsgi" in argument for argument in arguments):
        return "gateway"
    return "launcher" if any("run_platform" in argument for argument in arguments) else Path(arguments[0]).name


def cpu_seconds(root: int) -> dict:
    """CPU seconds (user + system) used so far by each process under `root`, by pid."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in descendants(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (process_name(pid), (int(fields[11]) + int(fields[12])) / ticks)
    return used


def cpu_per_complaint(before: dict, after: dict, complaints: int) -> dict:
    """Milliseconds of CPU per complaint, by process name, between two `cpu_seconds`."""
    spent = {}
    for pid, (name, seconds) in after.items():
        if pid in before:
            spent[name] = spent.get(name, 0.0) + (seconds - before[pid][1]) * 1000 / complaints
    return dict(sorted(spent.items(), key=lambda item: -item[1]))


SERVERS = {"postgres": "PostgreSQL", "beam.smp": "RabbitMQ"}


def server_cpu_seconds() -> dict:
    """CPU seconds used so far by this machine's PostgreSQL and RabbitMQ processes, by pid
    (a PostgreSQL backend that starts and ends between two readings is not counted)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            command, fields = stat.read_text().rsplit(")", 1)
        except OSError:
            continue
        name = SERVERS.get(command.split("(", 1)[1])
        if name:
            fields = fields.split()
            used[int(stat.parent.name)] = (name, (int(fields[11]) + int(fields[12])) / ticks)
    return used


def transactions_committed(server_url: str | None, prefix: str) -> dict:
    """Transactions committed so far in each service's database (named `prefix`_service)."""
    if not server_url:
        return {}
    import psycopg2
    prefix = prefix.replace("-", "_") + "_"
    with psycopg2.connect(server_url) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT datname, xact_commit FROM pg_stat_database WHERE starts_with(datname, %s)",
                       (prefix,))
        return {name.removeprefix(prefix): committed for name, committed in cursor.fetchall()}


def machine_busy_seconds() -> float:
    """CPU seconds all cores of this machine spent busy (not idle, not waiting) since boot."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = (
        int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def drained(inbox: Path, sms_log: Path, expected: int, timeout: float = 300) -> float:
    """Seconds until `expected` complaints are in the inbox with their SMS recorded."""
    started = time.monotonic()
    while time.monotonic() - started < timeout and (
            len(list(inbox.glob("*.json"))) < expected or not sms_log.exists()
            or len(sms_log.read_text("utf-8").splitlines()) < expected):
        time.sleep(0.2)
    return time.monotonic() - started


def new_vhost() -> str:
    """A RabbitMQ vhost of its own for one run, deleted by `delete_vhost`."""
    vhost = f"chikaya-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True)
    return vhost


def delete_vhost(vhost: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)


@contextmanager
def running_platform(postgres: str | None = None, **settings):
    """The whole platform as `make run` starts it, on a vhost, a var/ directory and (with
    `postgres`) databases of its own, all removed afterwards; `settings` go to its environment.
    Yields {"url", "port", "var", "vhost", "env"} once the gateway answers."""
    vhost = new_vhost()
    var = Path(tempfile.mkdtemp(prefix="chikaya-bench-"))
    port = free_port()
    env = {**os.environ, "AMQP_URI": f"amqp://guest:guest@127.0.0.1:5672/{vhost}", "PORT": str(port),
           "CHIKAYA_VAR_DIR": str(var), "GATEWAY_WORKERS": os.environ.get("GATEWAY_WORKERS", "2"),
           "GATEWAY_THREADS": os.environ.get("GATEWAY_THREADS", "4"),
           # every complaint comes from 127.0.0.1: the per-address filing limit would stop the run
           "FILING_RATE_LIMIT": "off", **settings}
    databases = create_databases(postgres, vhost, env) if postgres else []
    if postgres and not env.get("PERSONAL_DATA_KEYS"):
        # with a database URL the services are a deployment and refuse to start without a key
        from cryptography.fernet import Fernet
        env["PERSONAL_DATA_KEYS"] = Fernet.generate_key().decode()
    platform = subprocess.Popen([sys.executable, "scripts/run_platform.py"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz")
        yield {"url": f"http://127.0.0.1:{port}", "port": port, "var": var, "vhost": vhost, "env": env,
               "pid": platform.pid}
    finally:
        platform.send_signal(signal.SIGINT)
        platform.wait(timeout=60)
        delete_vhost(vhost)
        drop_databases(postgres, databases)
        shutil.rmtree(var, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", "--requests", type=int, default=400)
    parser.add_argument("-c", "--concurrency", type=int, default=16)
    parser.add_argument("--postgres", metavar="URL", nargs="?", const="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="give each service a fresh PostgreSQL database on this server instead of SQLite")
    args = parser.parse_args()

    bare_port = free_port()
    with running_platform(args.postgres) as platform:
        url, var, vhost, env = f"{platform['url']}/api/v1/complaints", platform["var"], platform["vhost"], platform["env"]
        bare = gunicorn("bench.bare_app:app", bare_port, env)
        try:
            wait_http(f"http://127.0.0.1:{bare_port}/api/v1/complaints")
            # warm up at full concurrency: each gateway thread borrows its RPC proxy, caches fill
            warm_up = load(url, WARM_UP, args.concurrency)
            inbox, sms_log = var / "inbox" / "CNSS", var / "outbox" / "sms.jsonl"
            drained(inbox, sms_log, len(warm_up["sent_at"]))  # so the CPU measured is the run's alone
            connections_before = broker_connections(vhost)
            cpu_before, servers_before = cpu_seconds(platform["pid"]), server_cpu_seconds()
            busy_before, load_generator_before = machine_busy_seconds(), sum(os.times()[:2])
            commits_before = transactions_committed(args.postgres, vhost)
            api = load(url, args.requests, args.concurrency)
            connections_after = broker_connections(vhost)
            expected = len(warm_up["sent_at"]) + len(api["sent_at"])  # those that were filed
            drain = drained(inbox, sms_log, expected)
            filed = len(api["sent_at"])
            cpu = cpu_per_complaint(cpu_before, cpu_seconds(platform["pid"]), filed)
            servers = cpu_per_complaint(servers_before, server_cpu_seconds(), filed)
            machine = (machine_busy_seconds() - busy_before) * 1000 / filed
            load_generator = (sum(os.times()[:2]) - load_generator_before) * 1000 / filed
            # statistics reach pg_stat_database up to half a second late
            time.sleep(1)
            commits = {service: (committed - commits_before[service]) / filed
                       for service, committed in transactions_committed(args.postgres, vhost).items()}
            delivered = len(list(inbox.glob("*.json")))
            whole = pipeline(api.pop("sent_at"), inbox, sms_log)
            baseline = load(f"http://127.0.0.1:{bare_port}/api/v1/complaints", args.requests, args.concurrency)
        finally:
            bare.terminate()
            bare.wait(timeout=30)

    print(f"\nPOST /api/v1/complaints, {args.requests} requests, {args.concurrency} concurrent clients, "
          f"gunicorn {env['GATEWAY_WORKERS']} workers x {env['GATEWAY_THREADS']} threads, "
          f"{'PostgreSQL' if args.postgres else 'SQLite (embedded defaults)'}\n")
    print(f"{'endpoint':<24}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for name, figures in (("chikaya gateway", api), ("bare Flask", baseline)):
        print(f"{name:<24}{figures['throughput']:>9.1f}{figures['p50']:>9.1f}{figures['p95']:>9.1f}"
              f"{figures['p99']:>9.1f}{figures['errors']:>8}")
    print(f"{'whole pipeline':<24}{whole['throughput']:>9.1f}{whole['p50']:>9.1f}{whole['p95']:>9.1f}"
          f"{whole['p99']:>9.1f}   (HTTP call to ministry inbox + SMS recorded, {whole['complete']} complete)")
    print(f"\nall {delivered}/{expected} complaints in the ministry inbox and their SMS recorded "
          f"{drain:.1f} s after the last answer")
    print(f"CPU per complaint, ms: {sum(cpu.values()):.1f} in all: "
          + ", ".join(f"{name} {milliseconds:.1f}" for name, milliseconds in cpu.items()))
    print(f"CPU per complaint, ms, outside the platform: " + ", ".join(
        f"{name} {milliseconds:.1f}" for name, milliseconds in servers.items())
        + f", this benchmark's clients {load_generator:.1f}; the whole machine {machine:.1f} "
        f"(at most {os.cpu_count() * 1000 / machine:.0f} complaints/s on its {os.cpu_count()} cores)")
    if args.postgres:
        print(f"PostgreSQL transactions committed per complaint: {sum(commits.values()):.1f}: "
              + ", ".join(f"{service} {count:.1f}" for service, count in commits.items()))
    threads = int(env["GATEWAY_WORKERS"]) * int(env["GATEWAY_THREADS"])
    print(f"broker connections on the vhost: {connections_before} before the run, {connections_after} after "
          f"{args.requests} requests (the gateway opens at most one RPC proxy per thread: {threads})")
    baseline.pop("sent_at")
    print(json.dumps({"gateway": api, "bare_flask": baseline, "pipeline": whole, "drain_seconds": drain,
                      "cpu_ms_per_complaint": cpu, "server_cpu_ms_per_complaint": servers,
                      "load_generator_cpu_ms_per_complaint": load_generator,
                      "machine_cpu_ms_per_complaint": machine, "transactions_per_complaint": commits,
                      "delivered": delivered, "connections_before": connections_before,
                      "connections_after": connections_after}))


if __name__ == "__main__":
    main()
