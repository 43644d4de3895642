"""Who may use the back office and the agent API: accounts with argon2 password hashes, API
tokens kept only as their SHA-256, and the `actor` each of them is when the gateway asks intake.

Field problems are message codes (as intake's are), raised as ValidationFailed, so pages and
the API show them through gateway.errors like any other.
"""
import argparse
import hashlib
import re
import secrets
import sys

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from nameko.standalone.rpc import ClusterRpcProxy

from gateway.models import ADMINISTRATION_ROLES, PROSECUTION_ROLES, ROLES, Agent, ApiToken, Base
from gateway.ratelimit import seconds_to_retry
from services.common import config
from services.common.db import make_engine, migrate, utcnow
from services.common.errors import ValidationFailed

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")
MIN_PASSWORD = 12
MAX_NAME = 120
TOKEN_PREFIX = "chk_"
VISIBLE_TOKEN_CHARS = 12  # "chk_" and 8 random characters: enough to tell tokens apart


def new_password() -> str:
    """A password for someone to type once: 16 characters without look-alikes (0/O, 1/l)."""
    alphabet = "23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
    return "".join(secrets.choice(alphabet) for _ in range(16))


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_marker(agent: Agent) -> str:
    """Kept in the signed session: a new password (changed or reset) ends every other session."""
    return hashlib.sha256(agent.password_hash.encode()).hexdigest()[:16]


def agent_actor(agent: Agent) -> dict:
    """The actor intake (or, for prosecution staff, the prosecution service) is told about
    for a signed-in person."""
    return {"id": f"agent:{agent.id}", "name": agent.full_name, "role": agent.role,
            "administration_code": agent.administration_code, "office_code": agent.office_code}


def token_actor(token: ApiToken) -> dict:
    """An administration's system acts as an agent of that administration, named after its token."""
    return {"id": f"token:{token.id}", "name": token.name, "role": "agent",
            "administration_code": token.administration_code}


def _name_errors(name: str) -> list:
    if len(name) < 3:
        return [("too_short", {"min": 3})]
    if len(name) > MAX_NAME:
        return [("too_long", {"max": MAX_NAME})]
    return []


def password_errors(password: str) -> list:
    return [("too_short", {"min": MIN_PASSWORD})] if len(password) < MIN_PASSWORD else []


class Accounts:
    """The gateway's own database of accounts and tokens."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self.hasher = PasswordHasher()
        # verified against when the username is unknown, so both failures take as long
        self._decoy_hash = self.hasher.hash(secrets.token_hex(16))

    def migrate(self) -> None:
        migrate("gateway", self.url, Base.metadata)

    def close(self) -> None:
        self.engine.dispose()

    # people

    def authenticate(self, username: str, password: str) -> Agent | None:
        """The active account with this username and password, or None (whichever was wrong)."""
        with self.sessions() as session:
            agent = session.scalar(select(Agent).where(Agent.username == username.strip().lower()))
            try:
                self.hasher.verify(agent.password_hash if agent else self._decoy_hash, password)
            except (VerificationError, InvalidHashError):
                return None
            if agent is None or not agent.active:
                return None
            if self.hasher.check_needs_rehash(agent.password_hash):
                agent.password_hash = self.hasher.hash(password)
                session.commit()
            return agent

    def agent(self, agent_id: int) -> Agent | None:
        """The active account with this id (None once it is deactivated)."""
        with self.sessions() as session:
            agent = session.get(Agent, agent_id)
            return agent if agent is not None and agent.active else None

    def agents(self) -> list[Agent]:
        with self.sessions() as session:
            return list(session.scalars(select(Agent).order_by(Agent.administration_code.nulls_first(),
                                                               Agent.username)))

    def exists(self, username: str) -> bool:
        with self.sessions() as session:
            return session.scalar(select(Agent.id).where(Agent.username == username)) is not None

    def create_agent(self, *, username: str, full_name: str, role: str, administration_code: str | None,
                     password: str | None, known_codes, must_change_password: bool = True,
                     office_code: str | None = None, known_offices=()) -> tuple[Agent, str]:
        """The new account and its password: the one given, or a new one when none is.  A
        password someone else chose must be changed at first sign-in (`must_change_password`).
        Prosecution staff belong to a prosecution office (`office_code`, one of `known_offices`)."""
        username = (username or "").strip().lower()
        full_name = (full_name or "").strip()
        administration_code = (administration_code or "").strip() or None
        office_code = (office_code or "").strip() or None
        errors = {}
        if not USERNAME.match(username):
            errors["username"] = ["invalid_username"]
        elif self.exists(username):
            errors["username"] = ["username_taken"]
        if problems := _name_errors(full_name):
            errors["full_name"] = problems
        if role not in ROLES:
            errors["role"] = ["invalid_choice"]
        elif role in PROSECUTION_ROLES:
            administration_code = None  # the prosecution's staff see nothing of the general portal
            if not office_code:
                errors["office_code"] = ["required"]
            elif office_code not in known_offices:
                errors["office_code"] = ["invalid_choice"]
        elif role in ADMINISTRATION_ROLES:
            if not administration_code:
                errors["administration_code"] = ["required"]
            elif administration_code not in known_codes:
                errors["administration_code"] = ["invalid_choice"]
        else:
            administration_code = None  # the platform roles belong to no administration
        if role not in PROSECUTION_ROLES:
            office_code = None
        if password and (problems := password_errors(password)):
            errors["password"] = problems
        if errors:
            raise ValidationFailed(errors)
        password = password or new_password()
        agent = Agent(username=username, full_name=full_name, role=role,
                      administration_code=administration_code, office_code=office_code,
                      password_hash=self.hasher.hash(password), must_change_password=must_change_password)
        with self.sessions() as session:
            session.add(agent)
            session.commit()
        return agent, password

    def change_password(self, agent_id: int, current: str, new: str, repeated: str) -> None:
        errors = {}
        with self.sessions() as session:
            agent = session.get(Agent, agent_id)
            try:
                self.hasher.verify(agent.password_hash, current)
            except (VerificationError, InvalidHashError):
                errors["current_password"] = ["wrong_password"]
            if problems := password_errors(new):
                errors["new_password"] = problems
            elif new == current:
                errors["new_password"] = ["password_unchanged"]
            elif new != repeated:
                errors["repeated_password"] = ["passwords_differ"]
            if errors:
                raise ValidationFailed(errors)
            agent.password_hash = self.hasher.hash(new)
            agent.must_change_password = False
            session.commit()

    def reset_password(self, agent_id: int) -> tuple[Agent, str]:
        """A new one-time password for someone who lost theirs."""
        password = new_password()
        with self.sessions() as session:
            agent = session.get(Agent, agent_id)
            agent.password_hash = self.hasher.hash(password)
            agent.must_change_password = True
            session.commit()
        return agent, password

    def set_active(self, agent_id: int, active: bool) -> Agent:
        with self.sessions() as session:
            agent = session.get(Agent, agent_id)
            agent.active = active
            session.commit()
        return agent

    # administrations' systems

    def create_token(self, *, name: str, administration_code: str, known_codes) -> tuple[ApiToken, str]:
        """The new token's row and the token itself, which is not kept and cannot be shown again."""
        name = (name or "").strip()
        errors = {}
        if problems := _name_errors(name):
            errors["name"] = problems
        if not administration_code:
            errors["administration_code"] = ["required"]
        elif administration_code not in known_codes:
            errors["administration_code"] = ["invalid_choice"]
        if errors:
            raise ValidationFailed(errors)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(name=name, administration_code=administration_code,
                       prefix=token[:VISIBLE_TOKEN_CHARS], token_sha256=token_digest(token))
        with self.sessions() as session:
            session.add(row)
            session.commit()
        return row, token

    def tokens(self) -> list[ApiToken]:
        with self.sessions() as session:
            return list(session.scalars(select(ApiToken).order_by(ApiToken.administration_code, ApiToken.id)))

    def revoke_token(self, token_id: int) -> None:
        with self.sessions() as session:
            row = session.get(ApiToken, token_id)
            if row is not None and row.revoked_at is None:
                row.revoked_at = utcnow()
                session.commit()

    def token_holder(self, token: str) -> ApiToken | None:
        """The live token row for what a client sent, or None."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self.sessions() as session:
            return session.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_digest(token),
                                                         ApiToken.revoked_at.is_(None)))


class LoginThrottle:
    """Failed sign-ins counted with the `limits` library, in the store the tracking limit uses
    (RATELIMIT_STORAGE_URI: each process's memory by default, Redis to share one count), twice:
    per (username, client address) against `limit` (e.g. "5 per 15 minutes", a moving window),
    and per client address across every username against `address_limit` (e.g. "30 per 15
    minutes"), so one address cannot spray a few passwords over many usernames.  Past either,
    the sign-in is refused, the right password included, until older failures age out."""

    def __init__(self, storage_uri: str, limit: str, address_limit: str):
        self.strategy = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.limit = parse(limit)
        self.address_limit = parse(address_limit)

    def _counts(self, username: str, address: str) -> list:
        """Each count a sign-in as `username` from `address` falls under: (limit, its key)."""
        return [(self.limit, ("login", username, address)),
                (self.address_limit, ("login-address", address))]

    def _full(self, username: str, address: str) -> list:
        return [(limit, key) for limit, key in self._counts(username, address)
                if not self.strategy.test(limit, *key)]

    def blocked(self, username: str, address: str) -> bool:
        return bool(self._full(username, address))

    def seconds_to_wait(self, username: str, address: str) -> int:
        """Until the oldest failure of every full count ages out, which lets one more attempt in."""
        waits = [seconds_to_retry(self.strategy.get_window_stats(limit, *key).reset_time, limit)
                 for limit, key in self._full(username, address)]
        return max(waits, default=1)  # default: the count aged out since blocked() said so

    def failed(self, username: str, address: str) -> None:
        for limit, key in self._counts(username, address):
            self.strategy.hit(limit, *key)

    def succeeded(self, username: str, address: str) -> None:
        """Starts the pair's count again, not the address's: else a sprayer holding one valid
        account would clear the address's failures by signing in with it now and then."""
        self.strategy.clear(self.limit, "login", username, address)


def main(argv=None) -> int:
    """Operators' commands on the accounts database (GATEWAY_DATABASE_URL), e.g.

        python -m gateway.accounts create --username agent.cnss --role agent --administration CNSS
        python -m gateway.accounts create --username greffe.rabat --role prosecution_clerk --office TPI_RABAT
        python -m gateway.accounts token --administration CNSS --name "CNSS case system"

    Administration codes are checked against routing's directory and prosecution offices against
    the prosecution's, so those services must be running.
    """
    parser = argparse.ArgumentParser(description=main.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create an agent account and print its password")
    create.add_argument("--username", required=True)
    create.add_argument("--full-name", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--administration", help="required for agent and supervisor")
    create.add_argument("--office", help="required for prosecution_clerk and chief_prosecutor: "
                                         "the prosecution office (court code, e.g. TPI_RABAT)")
    create.add_argument("--password", help="default: a new random one, printed once")
    create.add_argument("--keep-password", action="store_true",
                        help="do not ask for a new password at first sign-in (service accounts)")
    token = commands.add_parser("token", help="create an administration's API token and print it once")
    token.add_argument("--administration", required=True)
    token.add_argument("--name", required=True)
    args = parser.parse_args(argv)

    with ClusterRpcProxy({"AMQP_URI": config.amqp_uri()}, timeout=30) as services:
        known_codes = {entry["code"] for entry in services.routing.list_administrations()}
        known_offices = {entry["code"] for entry in services.prosecution.list_offices()} \
            if args.command == "create" and args.role in PROSECUTION_ROLES else set()
    accounts = Accounts(config.database_url("gateway"))
    accounts.migrate()
    try:
        if args.command == "create":
            agent, password = accounts.create_agent(
                username=args.username, full_name=args.full_name, role=args.role,
                administration_code=args.administration, password=args.password, known_codes=known_codes,
                must_change_password=not args.keep_password, office_code=args.office,
                known_offices=known_offices)
            print(f"{agent.username}\t{password}")
        else:
            _row, secret = accounts.create_token(name=args.name, administration_code=args.administration,
                                                 known_codes=known_codes)
            print(secret)
    except ValidationFailed as exc:
        print(f"refused: {exc.errors}", file=sys.stderr)
        return 1
    finally:
        accounts.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
