"""The fault suite: citizens keep filing through the real gateway (gunicorn) and bus while each
process of the platform is killed (SIGKILL) and started again, then stopped with SIGTERM while it
works and started again; RabbitMQ and PostgreSQL are restarted; the SMTP server and the SMS
provider go away for a while and come back.  After each fault:

- every filing ended with a tracking number, and every answer before it was an error (an HTTP
  error with its JSON body, or no answer at all), never a number for a complaint that does not
  exist: each number given opens its complaint;
- each complaint reached its ministry's side exactly once: one file per tracking number in the
  directory inbox (CNSS, TRIAGE), one case per Idempotency-Key on the webhook (ONEE), none extra;
- each citizen got exactly one SMS (counted at the Twilio peer) and one e-mail (counted at the
  SMTP peer by Message-ID: an e-mail sent again after notify died while the relay was taking it
  keeps its Message-ID, README "Faults") with their tracking number;
- the statistics count N complaints, all received, N being the numbers given;
- the platform accepted filings again within RECOVERY_BOUND seconds without anyone's help.

It runs on a PostgreSQL cluster and a RabbitMQ node of its own (tests/fault_support.py): the
machine's are shared and never restarted.  `make test` runs it; alone:
`.venv/bin/nameko test tests/test_faults.py -m faults -p no:cacheprovider -s` (-s prints the
recovery times measured).
"""
import os
import re
import signal
import time
from collections import Counter
from pathlib import Path

import psycopg2
import pytest
import requests

from tests.conftest import free_port, wait_for
from tests.fault_support import (RABBITMQ_SERVER, ComplaintStream, MinistryWebhook, PlatformProcesses,
                                 PrivatePostgres, PrivateRabbitMQ, postgres_binaries, queue_messages)
from tests.protocol_peers import SmtpPeer, TwilioPeer

pytestmark = pytest.mark.faults

# Behaviour, not speed: generous bounds that only a platform that does not recover by itself misses.
RECOVERY_BOUND = 90  # seconds from a fault until a filing sent after it is accepted
SETTLE_BOUND = 120  # seconds from the last filing until every complaint accepted has arrived everywhere
TRACKING_NUMBER = re.compile(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{5}")
DATABASES = ("intake", "routing", "notify", "stats", "prosecution", "gateway")
CONSUMERS = {"consumer-cnss": ["CNSS", "TRIAGE"], "consumer-onee": ["ONEE"]}
PROCESSES = ["intake", "routing", "notify", "stats", "prosecution", *CONSUMERS, "gateway"]
# how long notify may hold a delivery before it is taken for dead and checked with the provider
ATTEMPT_LEASE_SECONDS = 10
HELD_FILINGS = 4  # one gateway worker's threads


@pytest.fixture(scope="module")
def postgres():
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin: the fault suite "
                    "restarts a cluster of its own, never the machine's")
    cluster = PrivatePostgres(binaries)
    cluster.start()
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="module")
def rabbitmq():
    if not Path(RABBITMQ_SERVER).exists():
        pytest.skip(f"no {RABBITMQ_SERVER}: the fault suite restarts a RabbitMQ node of its own, never the machine's")
    node = PrivateRabbitMQ()
    node.start()
    yield node
    node.destroy()


class FaultRun:
    """The platform under faults, its peers, the citizens' stream and what was measured."""

    def __init__(self, processes, stream, twilio, smtp, webhook, var, postgres, rabbitmq):
        self.processes, self.stream = processes, stream
        self.twilio, self.smtp, self.webhook = twilio, smtp, webhook
        self.var, self.postgres, self.rabbitmq = var, postgres, rabbitmq
        self.opened: set[str] = set()  # numbers already opened through the API
        # (fault, seconds until a filing sent after it was accepted, seconds from the last filing
        # until everything had arrived)
        self.measured: list[tuple[str, float, float]] = []

    # -- the faults

    def disturb(self, fault: str, inject):
        """Inject a fault while citizens file (`inject` returns once it is over).  Returns when
        every invariant holds again."""
        started = time.monotonic()
        self.stream.resume()
        wait_for(lambda: len(self.stream.accepted_since(started)) >= 2, timeout=RECOVERY_BOUND,
                 message="the stream to flow before the fault")
        fault_at = time.monotonic()
        inject()
        accepted = wait_for(lambda: self.stream.accepted_since(fault_at), timeout=RECOVERY_BOUND, interval=0.2,
                            message=f"a filing accepted after {fault}")
        recovered = min(filing.accepted_at for filing in accepted) - fault_at
        wait_for(lambda: len(self.stream.accepted_since(fault_at)) >= 4, timeout=RECOVERY_BOUND,
                 message=f"filings to flow again after {fault}")
        self.stream.pause()
        last_filing = time.monotonic()
        self.settle(fault)
        self.measured.append((fault, recovered, time.monotonic() - last_filing))

    def kill_and_start(self, name: str):
        self.processes.kill(name)
        self.processes.start(name)
        self.processes.wait_ready(name)

    def kill_notify_inside_provider_calls(self):
        """Kill notify while the SMS provider and the SMTP server have each taken a message and
        not answered yet: the window where a message is out and notify's record does not say so."""
        self.twilio.answer_delay = self.smtp.answer_delay = 3
        try:
            wait_for(lambda: self.twilio.holding and self.smtp.holding, timeout=30, interval=0.05,
                     message="notify inside a call to each provider")
            self.processes.kill("notify")
        finally:
            self.twilio.answer_delay = self.smtp.answer_delay = 0
        self.processes.start("notify")
        self.processes.wait_ready("notify")

    def providers_away(self):
        """The SMS provider and the SMTP server go away while complaints keep coming (each
        citizen's messages wait), then come back."""
        self.twilio.stop()
        self.smtp.stop()
        away_since = time.monotonic()
        try:
            wait_for(lambda: len(self.stream.accepted_since(away_since)) >= 10, timeout=RECOVERY_BOUND,
                     message="complaints filed while the providers are away")
        finally:
            self.twilio.start()
            self.smtp.start()

    def unsettled_deliveries(self) -> int:
        """notify's deliveries with an attempt under way (begun, never answered nor failed)."""
        connection = psycopg2.connect(self.processes.env["NOTIFY_DATABASE_URL"])
        try:
            with connection.cursor() as cursor:
                cursor.execute("select count(*) from deliveries where status = 'queued' and error is null")
                return cursor.fetchone()[0]
        finally:
            connection.close()

    def emails_received_twice(self) -> int:
        return len(self.smtp.received) - len({received.message["Message-ID"] for received in self.smtp.received})

    # -- the invariants

    def filings(self):
        """Every filing so far; each must have ended with a tracking number, after nothing but errors."""
        filings = list(self.stream.filings)
        for filing in filings:
            assert filing.tracking_number, f"filing {filing.reference} got no number: {filing.refusals}"
            for answer, code in filing.refusals:
                assert answer in ("ConnectionError", "ReadTimeout") or (
                    answer in (500, 503) and code in ("internal_error", "service_unavailable")), \
                    f"filing {filing.reference} was answered {answer} {code}"
        numbers = [filing.tracking_number for filing in filings]
        assert len(set(numbers)) == len(numbers), "two filings were given the same number"
        return filings

    def problems(self, filings) -> list[str]:
        """What is missing or extra now, compared with the numbers given; [] when all is well."""
        expected = {code: {filing.tracking_number for filing in filings if filing.administration_code == code}
                    for code in ("CNSS", "ONEE", "UNKNOWN")}
        numbers = set().union(*expected.values())
        found = []

        def compare(what, seen: Counter, wanted: set):
            missing = wanted - set(seen)
            extra = {number: count for number, count in seen.items() if number not in wanted or count != 1}
            if missing or extra:
                found.append(f"{what}: {len(missing)} missing {sorted(missing)[:3]}, not once {extra}")

        for code, folder in (("CNSS", "CNSS"), ("UNKNOWN", "TRIAGE")):
            inbox = self.var / "inbox" / folder
            compare(f"{folder} inbox", Counter(path.stem for path in inbox.glob("*.json")), expected[code])
        compare("ONEE webhook cases", Counter({number: len(keys) for number, keys in self.webhook.cases().items()}),
                expected["ONEE"])
        compare("SMS", Counter(number for message in list(self.twilio.messages)
                               for number in TRACKING_NUMBER.findall(message["Body"])), numbers)
        by_message_id = {received.message["Message-ID"]: received.message["Subject"]
                         for received in list(self.smtp.received)}
        compare("e-mails", Counter(number for subject in by_message_id.values()
                                   for number in TRACKING_NUMBER.findall(subject)), numbers)
        try:
            stats = requests.get(f"{self.processes.base}/api/v1/stats", timeout=10).json()
        except (requests.RequestException, ValueError) as exc:
            return [*found, f"statistics: {exc!r}"]
        if stats.get("submitted") != len(numbers) or stats.get("by_status") != {"received": len(numbers)}:
            found.append(f"statistics: {stats.get('submitted')} submitted, {stats.get('by_status')}; "
                         f"{len(numbers)} numbers given")
        return found

    def settle(self, fault: str):
        filings = self.filings()
        last = []

        def settled():
            last[:] = self.problems(filings)
            return not last

        try:
            wait_for(settled, timeout=SETTLE_BOUND, interval=0.5, message=f"everything to arrive after {fault}")
        except AssertionError:
            raise AssertionError(f"after {fault}: {last}\n" + "\n".join(
                f"--- {name}\n{self.processes.log_tail(name, 2500)}" for name in PROCESSES)) from None
        self.open_new_numbers(filings)

    def open_new_numbers(self, filings):
        """Each number given opens its complaint, received, with one SMS and one e-mail in its
        timeline (a notification.sent may come later than the message itself: the lease)."""
        for filing in filings:
            if filing.tracking_number in self.opened:
                continue
            last = {}

            def complete():
                answer = requests.get(f"{self.processes.base}/api/v1/complaints/{filing.tracking_number}",
                                      params={"contact": filing.email}, timeout=10)
                assert answer.status_code == 200, (filing, answer.text)
                view = last["view"] = answer.json()
                statuses = [entry["status"] for entry in view["timeline"] if entry.get("status")]
                sent = [entry for entry in view["timeline"] if entry.get("event") == "notification_sent"]
                assert len(statuses) == len(set(statuses)) and len(sent) <= 2, view
                return view["status"] == "received" and len(sent) == 2

            try:
                wait_for(complete, timeout=SETTLE_BOUND, interval=0.5, message=f"{filing.tracking_number} complete")
            except AssertionError:
                raise AssertionError(last.get("view")) from None
            self.opened.add(filing.tracking_number)


@pytest.fixture(scope="module")
def run(postgres, rabbitmq, tmp_path_factory):
    folder = tmp_path_factory.mktemp("faults")
    var, logs = folder / "var", folder / "logs"
    var.mkdir()
    logs.mkdir()
    twilio, smtp, webhook = TwilioPeer(), SmtpPeer(), MinistryWebhook()
    twilio.start()
    smtp.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {name: value for name, value in os.environ.items() if name != "METRICS_PORT"}
    env.update({
        "AMQP_URI": rabbitmq.amqp_uri, "CHIKAYA_VAR_DIR": str(var), "PUBLIC_BASE_URL": base,
        # long enough for a service started again to answer the calls that waited for it
        "GATEWAY_WORKERS": "1", "GATEWAY_THREADS": "8", "RPC_TIMEOUT": "20",
        **{f"{name.upper()}_DATABASE_URL": postgres.create_database(name) for name in DATABASES},
        **twilio.settings, **smtp.settings,
        # a provider that is back is tried again within seconds, not the production half-minute
        "NOTIFY_RETRY_BASE_SECONDS": "1", "NOTIFY_RETRY_MAX_SECONDS": "4",
        "NOTIFY_ATTEMPT_LEASE_SECONDS": str(ATTEMPT_LEASE_SECONDS),
    })
    consumers = {"consumer-cnss": (CONSUMERS["consumer-cnss"], ()),
                 "consumer-onee": (CONSUMERS["consumer-onee"], ("--webhook-url", webhook.url))}
    processes = PlatformProcesses(env, logs, port, consumers)
    stream = None
    try:
        # event consumers first, so that their queues exist before intake publishes
        for name in ("routing", "notify", "stats", "prosecution"):
            processes.start(name)
        processes.wait_ready("routing", "notify", "stats", "prosecution")
        for name in ("intake", *CONSUMERS, "gateway"):
            processes.start(name)
        processes.wait_ready("intake", *CONSUMERS, "gateway")
        stream = ComplaintStream(base, filers=2, pause_between=0.8)
        fault_run = FaultRun(processes, stream, twilio, smtp, webhook, var, postgres, rabbitmq)
        yield fault_run
        print("\nfault                         accepting again after   all arrived, after the last filing")
        for fault, recovered, settled in fault_run.measured:
            print(f"{fault:<30}{recovered:>10.1f} s{settled:>24.1f} s")
        refusals = Counter(answer for filing in stream.filings for answer in filing.refusals)
        print(f"{len(stream.filings)} complaints; answered before their number: {dict(refusals)}; "
              f"{sum(f.replayed for f in stream.filings)} replays; {fault_run.emails_received_twice()} "
              "e-mails the relay got twice (one Message-ID)")
    finally:
        if stream is not None:
            stream.close()
        processes.stop_all()
        twilio.stop()
        smtp.stop()
        webhook.close()


@pytest.mark.parametrize("name", [name for name in PROCESSES if name != "notify"])
def test_a_process_killed_and_started_again_loses_nothing(run, name):
    run.disturb(f"kill -9 {name}", lambda: run.kill_and_start(name))


def test_notify_killed_while_providers_take_its_messages_sends_each_once(run):
    """The SMS that Twilio took is found there and not sent again; the e-mail the relay took
    is sent again with the same Message-ID (an SMTP relay cannot be asked), so the mailbox
    holds one message by its Message-ID, delivered twice by the relay."""
    twice_before = run.emails_received_twice()
    run.disturb("kill -9 notify in a send", run.kill_notify_inside_provider_calls)
    assert run.emails_received_twice() > twice_before


def test_rabbitmq_restarted_loses_nothing(run):
    """Every connection drops and the broker is away for the seconds a restart takes; durable
    queues and persistent messages come back with it, and every process reconnects by itself."""
    run.disturb("RabbitMQ restarted", run.rabbitmq.restart)


def test_postgresql_restarted_loses_nothing(run):
    run.disturb("PostgreSQL restarted", run.postgres.restart)


def test_the_sms_provider_and_the_smtp_server_away_for_a_while_lose_nothing(run):
    run.disturb("SMS and SMTP away", run.providers_away)


# -- graceful stop: SIGTERM, as Kubernetes sends on every rolling update

def test_a_rolling_update_stops_each_process_with_sigterm_while_it_works_and_loses_nothing(run):
    """Each process but the gateway gets SIGTERM in turn while citizens file, its replacement
    already running: it finishes what it holds, or gives it back to the broker, and exits 0.
    notify goes first, alone (its replacement starts once it has exited), while the providers
    take their time to answer: it waits for their answers and records them before it exits,
    leaving no delivery under way for a lease to recover."""
    others = [name for name in PROCESSES if name not in ("notify", "gateway")]
    old = {name: run.processes.running[name] for name in ["notify", *others]}
    for name in others:
        run.processes.start(name)
    run.processes.wait_ready(*others)
    twice_before = run.emails_received_twice()

    def stop_each_in_turn():
        run.twilio.answer_delay = run.smtp.answer_delay = 2
        try:
            wait_for(lambda: run.twilio.holding and run.smtp.holding, timeout=30, interval=0.05,
                     message="notify inside a call to each provider")
            code = run.processes.terminate(old["notify"])
        finally:
            run.twilio.answer_delay = run.smtp.answer_delay = 0
        assert code == 0 and run.unsettled_deliveries() == 0, run.processes.log_tail("notify")
        run.processes.start("notify")
        for name in others:
            code = run.processes.terminate(old[name])
            assert code == 0, f"{name} exited with {code} on SIGTERM:\n{run.processes.log_tail(name)}"
        run.processes.wait_ready("notify")

    run.disturb("SIGTERM each, in turn", stop_each_in_turn)
    assert run.emails_received_twice() == twice_before


def test_the_gateway_stopped_with_sigterm_answers_the_requests_it_holds(run):
    """Filings wait in the gateway for intake's answer (intake is frozen with SIGSTOP) when the
    gateway gets SIGTERM; intake thaws: each held filing is answered with its number, not cut
    off, then the gateway exits 0.  As many filings as one worker has threads (GATEWAY_THREADS,
    4): were they more, the worker that accepted most would keep some waiting for a thread,
    never reaching intake's queue."""
    intake = run.processes.running["intake"]
    intake.send_signal(signal.SIGSTOP)
    try:
        held = run.stream.file_together(HELD_FILINGS)
        wait_for(lambda: queue_messages(run.rabbitmq, "rpc-intake") == HELD_FILINGS, timeout=60, interval=0.5,
                 message="the filings held by the gateway, waiting for intake")
        gateway = run.processes.running["gateway"]
        gateway.send_signal(signal.SIGTERM)
    finally:
        intake.send_signal(signal.SIGCONT)
    assert gateway.wait(timeout=60) == 0, run.processes.log_tail("gateway")
    for thread in held:
        thread.join(timeout=60)
    filings = run.stream.filings[-HELD_FILINGS:]
    assert all(filing.tracking_number and not filing.refusals for filing in filings), filings
    run.processes.start("gateway")
    run.processes.wait_ready("gateway")
    run.settle("SIGTERM gateway holding requests")
