"""Per-client limits on guessing tracking numbers and on filing complaints (Flask-Limiter).

- Tracking: each address gets TRACKING_RATE_LIMIT failed attempts (default 20 per 10 minutes, a
  moving window) across every address that takes a tracking number with a contact typed in (the
  track forms and the APIs), and Open311's lookup of one request by its number.  Only failures
  (404) count, so the many citizens behind one mobile operator's shared address are not locked out
  by each other's successful visits; once the limit is reached every attempt is refused (429)
  until the window moves on, right or wrong.
- Filing: each address may file FILING_RATE_LIMIT complaints (default 10 per hour) through the
  portal's form, the JSON API, Open311 and the prosecution's form and API together; only filings
  that went through count (a view calls `count_filing`), so a citizen correcting the form spends
  nothing.  `off` lifts the limit (tests and benchmarks that file hundreds from one address).

Every refusal carries Retry-After, in seconds.  With the default `RATELIMIT_STORAGE_URI=memory://`
each gateway process counts on its own (so gunicorn's N workers allow up to N times the limits);
point it at Redis or Memcached (`redis://host:6379`, with that client installed) to share one
count.  The client is `request.remote_addr`: behind a proxy, set TRUSTED_PROXIES so it is the
citizen's address.
"""
import math
import time

from flask import g, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

TRACKING_SCOPE, FILING_SCOPE = "tracking", "filing"
NO_LIMIT = "off"

# (endpoint, method) of every request that checks a tracking number against a typed contact
TRACKING_ATTEMPTS = {
    ("web.track", "POST"),
    ("api.track_complaint", "GET"),
    ("api.add_message", "POST"),
    ("api.rate", "POST"),
    ("api.confirm", "POST"),
    ("api.reopen", "POST"),
    ("api.attachment", "GET"),
    # the prosecution channel: a tracking code with the phone given at filing
    ("prosecution.track", "POST"),
    ("prosecution_api.track", "GET"),
    ("prosecution_api.add_documents", "POST"),
    # no contact, but its 404 still says which numbers do not exist
    ("open311.one_request", "GET"),
}

# (endpoint, method) of every request that files a complaint
FILINGS = {
    ("web.new_complaint", "POST"),
    ("api.submit_complaint", "POST"),
    ("open311.file_request", "POST"),
    ("prosecution.send_complaint", "POST"),
    ("prosecution_api.file_complaint", "POST"),
}


def count_filing() -> None:
    """Called by a filing view once the complaint is filed: what FILING_RATE_LIMIT counts."""
    g.complaint_filed = True


def is_filing_refusal(exc: RateLimitExceeded) -> bool:
    return exc.limit.scope == FILING_SCOPE


def seconds_to_retry(reset_at: float, limit) -> int:
    """Retry-After for a full count that resets at `reset_at` (epoch seconds): at least 1, and
    never past the limit's window (`reset_at` is rounded up)."""
    return min(max(1, math.ceil(reset_at - time.time())), limit.get_expiry())


def _limit(setting: str) -> str:
    """A limit setting as Flask-Limiter takes it: `off` (or nothing) is no limit at all."""
    return "" if setting.strip().lower() in ("", NO_LIMIT) else setting


def init_rate_limits(app) -> Limiter:
    """One limiter per app, so each app (and each test) counts from zero."""
    tracking = ApplicationLimit(
        app.config["TRACKING_RATE_LIMIT"], scope=TRACKING_SCOPE,
        exempt_when=lambda: (request.endpoint, request.method) not in TRACKING_ATTEMPTS,
        deduct_when=lambda response: response.status_code == 404)
    filing = ApplicationLimit(
        _limit(app.config["FILING_RATE_LIMIT"]), scope=FILING_SCOPE,
        exempt_when=lambda: (request.endpoint, request.method) not in FILINGS,
        deduct_when=lambda response: g.get("complaint_filed", False))
    limiter = Limiter(get_remote_address, app=app, key_prefix="gateway", strategy="moving-window",
                      storage_uri=app.config["RATELIMIT_STORAGE_URI"], application_limits=[tracking, filing])

    @app.after_request
    def say_when_to_retry(response):
        refused = limiter.current_limit
        if response.status_code == 429 and refused is not None and refused.breached:
            response.headers["Retry-After"] = str(seconds_to_retry(refused.reset_at, refused.limit))
        return response

    return limiter
