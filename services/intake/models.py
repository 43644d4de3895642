"""The tables intake owns: complaints, their attachments, timeline, messages and internal
notes, the log of who viewed them, its outbox."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.crypto import EncryptedText
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
    # personal data, encrypted (services.common.crypto); None once erased (services.intake.retention)
    complainant_full_name: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    complainant_status: Mapped[str] = mapped_column(sa.String(20))
    complainant_id_type: Mapped[str] = mapped_column(sa.String(20))
    complainant_id_number: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    complainant_email: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    complainant_phone: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    personal_data_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    status: Mapped[str] = mapped_column(sa.String(24), default="submitted")
    # indexed for the public search (public_requests: a date range, newest first)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # the answer deadline (see domain): first receipt, and the clock of the current round
    # (a reopening starts a new one); pauses while the administration waits for the citizen
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    clock_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    paused_seconds: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    overdue_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answer_text: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_reason: Mapped[str | None] = mapped_column(sa.String(30), nullable=True)
    duplicate_of: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    reopen_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    rating_score: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    rating_comment: Mapped[str | None] = mapped_column(sa.Text, nullable=True)

    attachments: Mapped[list["Attachment"]] = relationship(back_populates="complaint",
                                                           order_by="Attachment.id")
    # in the order things happened, whatever order their events arrived in
    timeline: Mapped[list["TimelineEntry"]] = relationship(
        back_populates="complaint", order_by="(TimelineEntry.at, TimelineEntry.id)")
    messages: Mapped[list["Message"]] = relationship(back_populates="complaint", order_by="Message.id")
    notes: Mapped[list["Note"]] = relationship(back_populates="complaint", order_by="Note.id")


class Message(Base):
    """What the citizen and the administration wrote to each other after filing."""
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author: Mapped[str] = mapped_column(sa.String(20))  # citizen | administration
    author_name: Mapped[str | None] = mapped_column(sa.String(120), nullable=True)
    kind: Mapped[str] = mapped_column(sa.String(30))  # message | information_request | answer
    text: Mapped[str] = mapped_column(sa.Text)

    complaint: Mapped["Complaint"] = relationship(back_populates="messages")
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="message",
                                                           order_by="Attachment.id")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    # None: filed with the complaint; else sent later with that message
    message_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("messages.id", name="fk_attachments_message_id"), nullable=True)
    blob_key: Mapped[str] = mapped_column(sa.String(200))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))

    complaint: Mapped[Complaint] = relationship(back_populates="attachments")
    message: Mapped[Message | None] = relationship(back_populates="attachments")


class TimelineEntry(Base):
    """A dated step the citizen sees: a new status, or an event such as a message sent."""
    __tablename__ = "timeline_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str | None] = mapped_column(sa.String(24), nullable=True)
    event: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    complaint: Mapped[Complaint] = relationship(back_populates="timeline")


class Note(Base):
    """An agent's internal note: never shown to the citizen."""
    __tablename__ = "notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author_id: Mapped[str] = mapped_column(sa.String(64))
    author_name: Mapped[str] = mapped_column(sa.String(120))
    text: Mapped[str] = mapped_column(sa.Text)

    complaint: Mapped[Complaint] = relationship(back_populates="notes")


class AccessLogEntry(Base):
    """Who looked at a complaint's personal data, and when."""
    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[str] = mapped_column(sa.String(64))
    actor_name: Mapped[str] = mapped_column(sa.String(120))
    actor_role: Mapped[str] = mapped_column(sa.String(20))
    tracking_number: Mapped[str] = mapped_column(sa.String(20), index=True)
    action: Mapped[str] = mapped_column(sa.String(40))


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
