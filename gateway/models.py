"""The tables the gateway owns: the back office's accounts, the administrations' API tokens and
the prosecution channel's captcha challenges.

Complaints stay in intake (and prosecution complaints in the prosecution service); these only
say who may ask those services for what.
"""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import UTCDateTime, utcnow
from services.intake.domain import PLATFORM_ROLES, ROLES as PORTAL_ROLES
from services.prosecution.domain import ROLES as PROSECUTION_ROLES

# Roles that belong to one administration; the platform roles see every administration.
ADMINISTRATION_ROLES = tuple(role for role in PORTAL_ROLES if role not in PLATFORM_ROLES)
# The prosecution's staff belong to one prosecution office and see nothing of the general portal.
ROLES = PORTAL_ROLES + PROSECUTION_ROLES


class Base(DeclarativeBase):
    pass


class Agent(Base):
    """A person who signs in to the back office."""
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    # set when someone else chose the password (a platform administrator): changed at first sign-in
    must_change_password: Mapped[bool] = mapped_column(default=False)
    role: Mapped[str] = mapped_column(sa.String(20))
    administration_code: Mapped[str | None] = mapped_column(sa.String(24), index=True)
    office_code: Mapped[str | None] = mapped_column(sa.String(40), index=True)  # a prosecution office
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(f"role IN {ROLES}", name="agents_role_known"),
        sa.CheckConstraint(
            f"(role IN {ADMINISTRATION_ROLES}) = (administration_code IS NOT NULL)",
            name="agents_administration_matches_role"),
        sa.CheckConstraint(f"(role IN {PROSECUTION_ROLES}) = (office_code IS NOT NULL)",
                           name="agents_office_matches_role"),
    )


class ApiToken(Base):
    """An administration's key to the agent API.  Only the token's SHA-256 is kept: the token
    itself is shown once, when it is made; `prefix` is its visible start, to tell tokens apart."""
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    administration_code: Mapped[str] = mapped_column(sa.String(24), index=True)
    prefix: Mapped[str] = mapped_column(sa.String(20))
    token_sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaptchaChallenge(Base):
    """A code shown as an image and read as audio (gateway.captcha).  Solved once, it is a pass
    for one prosecution filing (`spent_at`); expired rows are purged as new ones are made."""
    __tablename__ = "captcha_challenges"

    id: Mapped[str] = mapped_column(sa.String(43), primary_key=True)
    answer: Mapped[str] = mapped_column(sa.String(6))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    solved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
