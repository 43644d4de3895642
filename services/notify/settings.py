"""How long and how often notify retries a message a provider could not take yet."""
import os
import random

from nameko.extensions import DependencyProvider


class RetrySettings(DependencyProvider):
    """NOTIFY_RETRY_FOR_SECONDS (86400: a day) after which a message is given up as failed;
    NOTIFY_RETRY_BASE_SECONDS (30) the first wait, doubled after each failure up to
    NOTIFY_RETRY_MAX_SECONDS (3600); each wait is drawn between half and all of that
    ("equal jitter"), so messages that failed together do not all come back together.

    NOTIFY_ATTEMPT_LEASE_SECONDS (300) is how long an attempt may hold a message: one not
    settled by then was left by a process that died during it, and is tried again, after
    asking the provider whether it already took it.  It must outlast the providers' timeouts
    (TWILIO_TIMEOUT, SMTP_TIMEOUT per exchange) for every message of one event."""

    def setup(self):
        def setting(name, default):
            return float(self.container.config.get(name) or os.environ.get(name) or default)

        self.give_up_after = setting("NOTIFY_RETRY_FOR_SECONDS", 86400)
        self.base = setting("NOTIFY_RETRY_BASE_SECONDS", 30)
        self.longest = setting("NOTIFY_RETRY_MAX_SECONDS", 3600)
        self.lease = setting("NOTIFY_ATTEMPT_LEASE_SECONDS", 300)
        self.batch = 100

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        ceiling = min(self.longest, self.base * 2 ** (attempts - 1))
        return random.uniform(ceiling / 2, ceiling)

    def get_dependency(self, worker_ctx):
        return self
