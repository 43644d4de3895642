"""The tables stats owns: the facts (one row per complaint, one per step of a prosecution complaint,
with no personal data), the counters the statistics are read from, and its processed events.

The counters are a sum over the facts, kept up to date by each event in the transaction that
records it (services.stats.counters), so reading the statistics never scans the facts."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.db import ProcessedEventMixin, UTCDateTime, utcnow


class Base(DeclarativeBase):
    pass


class ComplaintFact(Base):
    """What the statistics need of a complaint, filled in by its events in whatever order they come."""
    __tablename__ = "complaint_facts"

    tracking_number: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    administration_code: Mapped[str | None] = mapped_column(sa.String(24), nullable=True, index=True)
    type: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    region: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    status: Mapped[str] = mapped_column(sa.String(30), default="submitted")  # information_requested: 21
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # the first answer: the legal clock is about it (working days, pauses excluded)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    days_to_answer: Mapped[float | None] = mapped_column(sa.Float, nullable=True)
    # the latest closing, and the latest rating (a reopened complaint is answered, so rated, again)
    closed_reason: Mapped[str | None] = mapped_column(sa.String(30), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rating_score: Mapped[int | None] = mapped_column(sa.SmallInteger, nullable=True)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reopen_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    transferred_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # its answer deadline passed at least once before it was answered or closed
    overdue: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # when the newest event applied so far happened: an older event arriving late loses to it
    last_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ProsecutionStep(Base):
    """One step of a complaint to the public prosecution, as stats may count it: the month, category
    and office only (the event's id, so each step is here once)."""
    __tablename__ = "prosecution_steps"

    event_id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    step: Mapped[str] = mapped_column(sa.String(40))  # "received" is the filing
    month: Mapped[str] = mapped_column(sa.String(7))  # 2026-11, Moroccan time
    category: Mapped[str] = mapped_column(sa.String(40))
    office_code: Mapped[str] = mapped_column(sa.String(40))  # the office that took the step


class Counter(Base):
    """One figure of one group: e.g. ("complaints", "administration", "CNSS", "status:answered") = 812.

    `scope` is "complaints" or "prosecution"; `breakdown` "all" (with `key` ""), "administration",
    "type", "region" or "month" for complaints, "all", "month", "category" or "office" for the
    prosecution.  The figures are named in services.stats.counters."""
    __tablename__ = "counters"

    scope: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    breakdown: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    figure: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    value: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
