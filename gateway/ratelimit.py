"""How often one client may fail to prove a tracking number and contact (Flask-Limiter).

Each address gets TRACKING_RATE_LIMIT failed attempts (default 20 per 10 minutes, a moving
window) across every address that takes a tracking number with a contact typed in: the track
form and the API.  Only failures (404) count, so the many citizens behind one mobile
operator's shared address are not locked out by each other's successful visits; once the
limit is reached every attempt is refused (429) until the window moves on, right or wrong.

With the default `RATELIMIT_STORAGE_URI=memory://` each gateway process counts on its own
(so gunicorn's N workers allow up to N times the limit); point it at Redis or Memcached
(`redis://host:6379`, with that client installed) to share one count.  The client is
`request.remote_addr`: behind a proxy, set TRUSTED_PROXIES so it is the citizen's address.
"""
from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

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
}


def _not_a_tracking_attempt() -> bool:
    return (request.endpoint, request.method) not in TRACKING_ATTEMPTS


def init_rate_limits(app) -> Limiter:
    """One limiter per app, so each app (and each test) counts from zero."""
    return Limiter(
        get_remote_address, app=app, key_prefix="tracking", strategy="moving-window",
        storage_uri=app.config["RATELIMIT_STORAGE_URI"],
        application_limits=[app.config["TRACKING_RATE_LIMIT"]],
        application_limits_exempt_when=_not_a_tracking_attempt,
        application_limits_deduct_when=lambda response: response.status_code == 404)
