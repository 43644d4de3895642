"""Intake's rules: tracking numbers, what a valid submission is, and the status path.

Plain Python, so tests call it without a broker.
"""
import secrets

import phonenumbers

# Crockford's base 32: no I, L, O or U, so nothing is mistaken for 1, 0 or another letter.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
RANDOM_SYMBOLS = 12  # 12 x 5 bits = 60 random bits
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})

REQUEST_TYPES = ("complaint", "observation", "suggestion")
COMPLAINANT_STATUSES = ("citizen", "moroccan_abroad", "foreign_resident")
ID_TYPES = ("cnie", "passport", "residence_card")
LANGUAGES = ("ar", "fr")
UNKNOWN_ADMINISTRATION = "UNKNOWN"

# Status path of the walking skeleton; a status never moves backwards, so events that
# arrive out of order (delivered before routed) leave the newest status in place.
STATUS_RANK = {"submitted": 0, "triage": 1, "routed": 1, "received": 2}


def _check_symbol(symbols: str) -> str:
    """Luhn mod 32: catches every single wrong symbol and most swaps of neighbours."""
    factor, total, n = 2, 0, len(ALPHABET)
    for char in reversed(symbols):
        addend = factor * ALPHABET.index(char)
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def new_tracking_number() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_SYMBOLS))
    return format_tracking_number(body + _check_symbol(body))


def format_tracking_number(compact: str) -> str:
    """Groups of 4-4-5 are easier to read out and type from an SMS."""
    return f"{compact[:4]}-{compact[4:8]}-{compact[8:]}"


def normalize_tracking_number(typed: str) -> str | None:
    """The canonical form of what a citizen typed, or None if it cannot be a tracking number."""
    compact = "".join(ch for ch in (typed or "").upper() if ch.isalnum()).translate(_LOOKALIKES)
    if len(compact) != RANDOM_SYMBOLS + 1 or any(ch not in ALPHABET for ch in compact):
        return None
    if _check_symbol(compact[:-1]) != compact[-1]:
        return None
    return format_tracking_number(compact)


def normalize_phone(raw: str, default_region: str = "MA") -> str | None:
    """E.164 form of a number that can receive SMS, or None."""
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in (phonenumbers.PhoneNumberType.MOBILE,
                                                 phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def contact_matches(complainant_email: str | None, complainant_phone: str | None, contact: str) -> bool:
    """Whether `contact` is the e-mail or the phone given at filing."""
    contact = (contact or "").strip()
    if not contact:
        return False
    if "@" in contact:
        return bool(complainant_email) and secrets.compare_digest(
            contact.lower().encode(), complainant_email.lower().encode())
    phone = normalize_phone(contact)
    return bool(phone and complainant_phone) and secrets.compare_digest(phone, complainant_phone)


def advances(current: str, new: str) -> bool:
    return STATUS_RANK[new] > STATUS_RANK[current]
