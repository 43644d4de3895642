"""Personal data encrypted at rest (law 09-08): identity numbers, names, phone numbers, e-mail
addresses, addresses, the messages notify keeps and the events waiting in an outbox (which
carry them).

`PERSONAL_DATA_KEYS` holds comma-separated Fernet keys (AES-128-CBC with an HMAC-SHA256, see
`cryptography`): the first encrypts, every one decrypts, so a key is rotated by putting a new
one first, running `python -m services.common.crypto rotate --service intake|prosecution|notify`
(every row re-encrypted with the first key), then removing the old one.  Unset on the embedded
default, a key is made once and kept in var/personal-data-key (0600), like the gateway's secret
key; a deployment (any `*_DATABASE_URL` set) refuses to start without the setting, since a key
made on a pod's disk would die with the pod and take the data with it.

A column of type EncryptedText holds a Fernet token: the same value encrypts differently every
time, so such a column cannot be compared or indexed in SQL (the comparator refuses it).  A row
is found by its non-personal key (the tracking number) and the personal value compared in
Python after decryption.
"""
import argparse
import importlib
import json
import os
import sys
from datetime import date

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.sql import operators

from services.common import config

KEYS_SETTING = "PERSONAL_DATA_KEYS"
KEY_FILE = "personal-data-key"
SERVICES = ("intake", "routing", "prosecution", "notify")
BATCH = 500


class MissingKeys(RuntimeError):
    """PERSONAL_DATA_KEYS is unset in a deployment, or holds something that is not a Fernet key."""


class UnreadablePersonalData(RuntimeError):
    """A value was encrypted with a key that PERSONAL_DATA_KEYS no longer holds."""


def deployment() -> bool:
    """Any `*_DATABASE_URL` set means a deployment, not the one-laptop platform (as gateway.demo)."""
    return any(name.endswith("DATABASE_URL") and value for name, value in os.environ.items())


def _persistent_key() -> bytes:
    """The embedded default's key, made once under var/ (every process of the laptop shares it)."""
    return config.kept_secret(KEY_FILE, Fernet.generate_key)


def _configured_keys(raw: str) -> list[bytes]:
    keys = [key.strip().encode() for key in raw.split(",") if key.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            # the key itself is never printed: it would end up in a log
            raise MissingKeys(f"{KEYS_SETTING}: key {position} is not a Fernet key "
                              "(32 url-safe base64-encoded bytes; make one with "
                              "`python -m services.common.crypto new-key`)") from None
    return keys


_keys: dict[tuple[str, str], list[Fernet]] = {}


def _fernets() -> list[Fernet]:
    """The keys of this process in order: PERSONAL_DATA_KEYS, else (embedded default) the key
    under var/.  Whether a deployment may fall back like that is `require_keys`'s question, asked
    when a service or a command starts."""
    raw = os.environ.get(KEYS_SETTING, "")
    where = (raw, os.environ.get("CHIKAYA_VAR_DIR", ""))
    if where not in _keys:
        _keys[where] = [Fernet(key) for key in _configured_keys(raw) or [_persistent_key()]]
    return _keys[where]


def keyring() -> MultiFernet:
    """Encrypts with the first key, decrypts with any."""
    return MultiFernet(_fernets())


def require_keys() -> None:
    """Refuse to go on in a deployment without PERSONAL_DATA_KEYS (or with a malformed one)."""
    if deployment() and not os.environ.get(KEYS_SETTING, "").strip():
        raise MissingKeys(f"{KEYS_SETTING} is not set: a deployment (a *_DATABASE_URL is set) needs the "
                          "keys that encrypt personal data, comma-separated Fernet keys, the first "
                          "encrypting (make one with `python -m services.common.crypto new-key`)")
    keyring()


def encrypt(text: str) -> str:
    return keyring().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return keyring().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UnreadablePersonalData(f"personal data encrypted with a key that {KEYS_SETTING} "
                                     "does not hold (or altered)") from None


class EncryptedText(sa.types.TypeDecorator):
    """A text column stored as a Fernet token; read back as the text."""
    impl = sa.Text
    cache_ok = True

    class comparator_factory(sa.types.TypeDecorator.Comparator):
        def operate(self, op, *other, **kwargs):
            # a token differs at every encryption: equality in SQL would silently never match
            if op not in (operators.is_, operators.is_not):
                raise TypeError("an encrypted column cannot be compared in SQL: find the row by "
                                "another column and compare after decryption")
            return super().operate(op, *other, **kwargs)

    def to_text(self, value) -> str:
        return value

    def from_text(self, text: str):
        return text

    def process_bind_param(self, value, dialect):
        return None if value is None else encrypt(self.to_text(value))

    def process_result_value(self, value, dialect):
        return None if value is None else self.from_text(decrypt(value))


class EncryptedJSON(EncryptedText):
    """A JSON document kept encrypted: an outbox row's event, which can carry a complainant."""
    cache_ok = True

    def to_text(self, value) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def from_text(self, text: str):
        return json.loads(text)


class EncryptedDate(EncryptedText):
    """A date (a birth date) kept as an encrypted ISO date."""
    cache_ok = True

    def to_text(self, value: date) -> str:
        return value.isoformat()

    def from_text(self, text: str) -> date:
        return date.fromisoformat(text)


# --- rewriting stored values: the migrations that encrypt what was stored in clear, rotation

def encrypted_columns(metadata: sa.MetaData) -> dict[str, list[str]]:
    """{table: [its encrypted columns]} of a service's models."""
    found = {}
    for table in metadata.sorted_tables:
        names = [column.name for column in table.columns if isinstance(column.type, EncryptedText)]
        if names:
            found[table.name] = names
    return found


def rewrite_column_values(connection, table: str, columns: list[str], transform, key: str = "id") -> int:
    """Apply `transform(stored) -> new or None (unchanged)` to every non-null value of `columns`
    in `table`, reading and writing the raw stored text (not through EncryptedText), in batches
    by `key`; returns how many rows changed."""
    raw = sa.table(table, sa.column(key), *(sa.column(name, sa.Text) for name in columns))
    changed, last = 0, None
    while True:
        query = sa.select(raw).order_by(raw.c[key]).limit(BATCH)
        if last is not None:
            query = query.where(raw.c[key] > last)
        rows = connection.execute(query).mappings().all()
        if not rows:
            return changed
        for row in rows:
            values = {}
            for name in columns:
                if row[name] is not None:
                    new = transform(row[name])
                    if new is not None and new != row[name]:
                        values[name] = new
            if values:
                connection.execute(sa.update(raw).where(raw.c[key] == row[key]).values(**values))
                changed += 1
        last = rows[-1][key]


def encrypt_stored(connection, table: str, columns: list[str], key: str = "id") -> int:
    """For a migration: encrypt the values still stored in clear (a value that already decrypts is
    left as it is, so a migration run again changes nothing)."""
    ring = None

    def encrypted(stored: str):
        nonlocal ring
        ring = ring or keyring()  # an empty table needs no key
        try:
            ring.decrypt(stored.encode())
            return None
        except InvalidToken:
            return ring.encrypt(stored.encode()).decode()
    return rewrite_column_values(connection, table, columns, encrypted, key)


def encrypt_outbox() -> None:
    """For a service's migration: the outbox's JSON events become encrypted text (OutboxMixin)."""
    from alembic import op
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("payload", existing_type=sa.JSON(), type_=sa.Text(), existing_nullable=False,
                              postgresql_using="payload::text")
    encrypt_stored(op.get_bind(), "outbox", ["payload"])


def decrypt_outbox() -> None:
    """encrypt_outbox undone, for a downgrade."""
    from alembic import op
    rewrite_column_values(op.get_bind(), "outbox", ["payload"], decrypt)
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("payload", existing_type=sa.Text(), type_=sa.JSON(), existing_nullable=False,
                              postgresql_using="payload::json")


def rotate_stored(connection, table: str, columns: list[str]) -> int:
    """Re-encrypt with the first key every value that another key encrypted."""
    ring, first = keyring(), _fernets()[0]

    def rotated(stored: str):
        token = stored.encode()
        try:
            first.decrypt(token)
            return None  # already under the first key
        except InvalidToken:
            pass
        try:
            return ring.rotate(token).decode()
        except InvalidToken:
            raise UnreadablePersonalData(f"{table}: a value is encrypted with a key that "
                                         f"{KEYS_SETTING} does not hold: nothing rotated") from None
    return rewrite_column_values(connection, table, columns, rotated)


def rotate(service: str) -> dict[str, int]:
    """Every encrypted value of the service's database under the first key, in one transaction;
    {table: rows re-encrypted}."""
    from services.common.db import make_engine, migrate
    require_keys()
    metadata = importlib.import_module(f"services.{service}.models").Base.metadata
    url = config.database_url(service)
    migrate(service, url, metadata)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            return {table: rotate_stored(connection, table, columns)
                    for table, columns in encrypted_columns(metadata).items()}
    finally:
        engine.dispose()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Keys of the personal data encrypted at rest.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("new-key", help="print a new Fernet key, to put first in PERSONAL_DATA_KEYS")
    rotating = commands.add_parser("rotate", help="re-encrypt a service's personal data with the first key")
    rotating.add_argument("--service", required=True, choices=SERVICES)
    args = parser.parse_args(argv)
    if args.command == "new-key":
        print(Fernet.generate_key().decode())
        return 0
    try:
        counts = rotate(args.service)
    except (MissingKeys, UnreadablePersonalData) as exc:
        print(f"nothing rotated: {exc}", file=sys.stderr)
        return 1
    for table, count in counts.items():
        print(f"{args.service}.{table}: {count} rows re-encrypted with the first key")
    return 0


if __name__ == "__main__":
    sys.exit(main())
