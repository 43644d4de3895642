"""Demo accounts, so that someone who just ran `make run` can try the back office at once.

Made only on the embedded default (no `*_DATABASE_URL` anywhere) and only when CHIKAYA_DEMO=1,
which scripts/run_platform.py sets: a production deployment never gets them.  They are made
once, with random passwords stored hashed like any other; the passwords are written to
var/demo-credentials.txt (var/ is never committed) so the launcher can show them on every run.
"""
import logging
import os
from pathlib import Path

from services.common import config

log = logging.getLogger(__name__)

DEMO_ADMINISTRATION = "CNSS"
DEMO_ACCOUNTS = (
    # username, full name, role, administration
    ("admin", "Administrateur de démonstration", "platform_admin", None),
    ("agent.cnss", "Agent CNSS de démonstration", "agent", DEMO_ADMINISTRATION),
    ("superviseur.cnss", "Superviseur CNSS de démonstration", "supervisor", DEMO_ADMINISTRATION),
    ("dispatch", "Agent de la plateforme (démonstration)", "platform_agent", None),
)
DEMO_TOKEN_NAME = "Système de la CNSS (démonstration)"
# The prosecution's staff: username, full name, role, office.  A theft in Rabat goes to TPI_RABAT,
# a corruption report in Rabat to CA_RABAT (services.prosecution.domain).
DEMO_PROSECUTION_ACCOUNTS = (
    ("greffe.rabat", "Greffier du parquet de Rabat (démonstration)", "prosecution_clerk", "TPI_RABAT"),
    ("chef.rabat", "Chef du parquet de Rabat (démonstration)", "chief_prosecutor", "TPI_RABAT"),
    ("greffe.ca.rabat", "Greffier du parquet général de Rabat (démonstration)", "prosecution_clerk", "CA_RABAT"),
)


def credentials_path() -> Path:
    return config.var_dir() / "demo-credentials.txt"


def embedded_default(settings: dict) -> bool:
    """Whether this is the one-laptop platform rather than a deployment: no database URL given
    to the gateway nor, in the environment, to any service.  Demo conveniences (these accounts,
    the captcha's test mode) exist only there."""
    if settings.get("GATEWAY_DATABASE_URL"):
        return False
    return not any(name.endswith("DATABASE_URL") and value for name, value in os.environ.items())


def demo_wanted(settings: dict) -> bool:
    """CHIKAYA_DEMO=1 on the embedded default only."""
    return str(settings.get("CHIKAYA_DEMO") or "") == "1" and embedded_default(settings)


def ensure_demo_accounts(accounts, base_url: str) -> bool:
    """Make the demo accounts and token unless they were made before; True if it made them."""
    if accounts.exists(DEMO_ACCOUNTS[0][0]):
        return False
    lines = [f"Chikaya back office (demo accounts, embedded default only): {base_url}/backoffice/login", ""]
    for username, full_name, role, administration in DEMO_ACCOUNTS:
        _agent, password = accounts.create_agent(
            username=username, full_name=full_name, role=role, administration_code=administration,
            password=None, known_codes={DEMO_ADMINISTRATION}, must_change_password=False)
        where = f" of {administration}" if administration else ""
        lines.append(f"  {role}{where}: {username} / {password}")
    for username, full_name, role, office in DEMO_PROSECUTION_ACCOUNTS:
        _agent, password = accounts.create_agent(
            username=username, full_name=full_name, role=role, administration_code=None, password=None,
            known_codes=(), must_change_password=False, office_code=office, known_offices={office})
        lines.append(f"  {role} of the prosecution office {office}: {username} / {password}")
    _row, token = accounts.create_token(name=DEMO_TOKEN_NAME, administration_code=DEMO_ADMINISTRATION,
                                        known_codes={DEMO_ADMINISTRATION})
    lines += ["", f"API token of {DEMO_ADMINISTRATION}: {token}",
              f"  curl -H 'Authorization: Bearer {token}' {base_url}/api/v1/agent/complaints", ""]
    path = credentials_path()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    log.warning("demo accounts created; how to sign in: %s", path)
    return True
