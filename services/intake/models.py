"""The tables intake owns: complaints, their attachments and timeline, its outbox."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.db import ProcessedEventMixin, UTCDateTime, utcnow
from services.common.outbox import OutboxMixin


class Base(DeclarativeBase):
    pass


class Complaint(Base):
    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    client_reference: Mapped[str | None] = mapped_column(sa.String(64), unique=True, nullable=True)
    type: Mapped[str] = mapped_column(sa.String(20))
    administration_code: Mapped[str] = mapped_column(sa.String(24), index=True)
    subject: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    region: Mapped[str] = mapped_column(sa.String(20))
    language: Mapped[str] = mapped_column(sa.String(2))
    complainant_full_name: Mapped[str] = mapped_column(sa.String(120))
    complainant_status: Mapped[str] = mapped_column(sa.String(20))
    complainant_id_type: Mapped[str] = mapped_column(sa.String(20))
    complainant_id_number: Mapped[str] = mapped_column(sa.String(20))
    complainant_email: Mapped[str | None] = mapped_column(sa.String(254), nullable=True)
    complainant_phone: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    status: Mapped[str] = mapped_column(sa.String(20), default="submitted")
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    attachments: Mapped[list["Attachment"]] = relationship(back_populates="complaint",
                                                           order_by="Attachment.id")
    timeline: Mapped[list["TimelineEntry"]] = relationship(back_populates="complaint",
                                                           order_by="TimelineEntry.id")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    blob_key: Mapped[str] = mapped_column(sa.String(200))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))

    complaint: Mapped[Complaint] = relationship(back_populates="attachments")


class TimelineEntry(Base):
    """A dated step the citizen sees: a new status, or an event such as a message sent."""
    __tablename__ = "timeline_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    event: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    complaint: Mapped[Complaint] = relationship(back_populates="timeline")


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
