"""Values the gateway hands to a browser that the browser may keep but neither read nor
change: the contents of a download link, the citizen's contact in their session.

Flask's session and itsdangerous only sign, and a signed value is readable base64; these
carry a phone number or an e-mail address, which must not end up readable in a URL, a proxy
log or a browser history.  So they are sealed with Fernet (AES and an HMAC, with the time
it was made), under a key derived from the app's SECRET_KEY and the purpose, so that a value
sealed for one purpose is refused for another.
"""
import base64
import hashlib
import json
import time

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


class Expired(Exception):
    """Sealed by us, but longer ago than allowed."""


class Invalid(Exception):
    """Not sealed by us for this purpose, or changed since."""


def _fernet(purpose: str) -> Fernet:
    secret = current_app.config["SECRET_KEY"]
    secret = secret if isinstance(secret, bytes) else secret.encode()
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(purpose.encode() + b"\0" + secret).digest()))


def seal(purpose: str, value, at: float | None = None) -> str:
    """`value` (anything JSON can hold) as an opaque URL-safe string; `at` (a Unix time,
    default now) is when it counts as made."""
    data = json.dumps(value, separators=(",", ":")).encode()
    return _fernet(purpose).encrypt_at_time(data, int(time.time() if at is None else at)).decode()


def unseal(purpose: str, token: str, max_age: int):
    """The value sealed in `token` at most `max_age` seconds ago; Expired or Invalid otherwise."""
    fernet = _fernet(purpose)
    try:
        return json.loads(fernet.decrypt(token.encode(), ttl=max_age))
    except InvalidToken:
        pass
    try:
        fernet.extract_timestamp(token.encode())  # checks the HMAC: ours, so only too old
    except (InvalidToken, ValueError):
        raise Invalid() from None
    raise Expired()
