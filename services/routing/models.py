"""The tables routing owns: the directory of administrations and where each complaint went."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import ProcessedEventMixin, UTCDateTime, utcnow
from services.common.outbox import OutboxMixin


class Base(DeclarativeBase):
    pass


class Administration(Base):
    __tablename__ = "administrations"

    code: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    name_ar: Mapped[str] = mapped_column(sa.String(300))
    name_fr: Mapped[str] = mapped_column(sa.String(300))
    kind: Mapped[str] = mapped_column(sa.String(30))
    # Who is written to about the administration's complaints (not public, unlike the names):
    # the complaints desk gets the reminder before a deadline, the supervisor the notice after it.
    contact_email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    supervisor_email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    contact_language: Mapped[str] = mapped_column(sa.String(2), default="ar", server_default="ar")


class RoutingDecision(Base):
    """One row each time a complaint is sent to a queue: when it is filed, then again when it is
    transferred or reopened (`reason`)."""
    __tablename__ = "routing_decisions"
    # named, so the key keeps one name on every database after routing_0002 recreated the table
    __table_args__ = (sa.PrimaryKeyConstraint("id", name="pk_routing_decisions"),)

    id: Mapped[int] = mapped_column(sa.Integer, sa.Identity())
    tracking_number: Mapped[str] = mapped_column(sa.String(20), index=True)
    reason: Mapped[str] = mapped_column(sa.String(20), server_default="submitted")
    requested_code: Mapped[str] = mapped_column(sa.String(24))
    administration_code: Mapped[str] = mapped_column(sa.String(24), index=True)
    triage: Mapped[bool] = mapped_column(sa.Boolean)
    routed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
