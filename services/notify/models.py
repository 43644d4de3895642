"""The tables notify owns: one row per message it was asked to send, its processed events, its outbox."""
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.crypto import EncryptedText
from services.common.db import ProcessedEventMixin, UTCDateTime, utcnow
from services.common.outbox import OutboxMixin


class Base(DeclarativeBase):
    pass


class Delivery(Base):
    """A message to one recipient on one channel for one event.

    queued: recorded, not yet taken by the provider; `attempts` counts the attempts begun, and
    `next_attempt_at` is when it is tried again: after a temporary failure, or, while an attempt
    is under way, once that attempt's lease has run out (its process died).
    sent: the provider took it (`provider_id`); delivered: the provider says it arrived;
    failed: refused for good, or still refused after NOTIFY_RETRY_FOR_SECONDS (`error` says why).

    The unique key means a message for an event can be recorded, and so sent, only once: an
    event calls for each template once per channel, to one recipient (the recipient itself is
    encrypted, differently each time, so it cannot be part of a key).

    The recipient and the message are personal data, encrypted (services.common.crypto), and
    erased (None) once older than RETENTION_DAYS (services.notify.retention).
    """
    __tablename__ = "deliveries"
    __table_args__ = (sa.UniqueConstraint("event_id", "channel", "template",
                                          name="uq_deliveries_event_channel_template"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(36))
    tracking_number: Mapped[str] = mapped_column(sa.String(20), index=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    recipient: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    template: Mapped[str] = mapped_column(sa.String(60))
    language: Mapped[str] = mapped_column(sa.String(2))
    status: Mapped[str] = mapped_column(sa.String(10), default="queued")
    provider: Mapped[str] = mapped_column(sa.String(40))
    provider_id: Mapped[str | None] = mapped_column(sa.String(100), nullable=True)
    error: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    # The message as rendered, so that a retry sends exactly what the first attempt tried.
    subject: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    body: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    html: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
