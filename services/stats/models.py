"""The tables stats owns: one row of facts per complaint, with no personal data, and its processed events."""
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
    status: Mapped[str] = mapped_column(sa.String(20), default="submitted")
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


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
