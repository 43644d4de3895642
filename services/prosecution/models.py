"""The tables the prosecution owns: its directory of courts (each court's prosecution office)
and the cities they serve, the complaints with their accused, documents and timeline, the log
of who looked at them, its outbox."""
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.common.crypto import EncryptedDate, EncryptedText
from services.common.db import UTCDateTime, utcnow
from services.common.outbox import OutboxMixin


class Base(DeclarativeBase):
    pass


class Court(Base):
    """A court and so the prosecution office at it (the office code is the court's code)."""
    __tablename__ = "courts"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # first_instance | appeal
    name_ar: Mapped[str] = mapped_column(sa.String(300))
    name_fr: Mapped[str] = mapped_column(sa.String(300))
    office_ar: Mapped[str] = mapped_column(sa.String(300))
    office_fr: Mapped[str] = mapped_column(sa.String(300))
    appeal_court: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)

    cities: Mapped[list["City"]] = relationship(back_populates="court", order_by="City.code")


class City(Base):
    """A city (or town) whose facts go to one court of first instance."""
    __tablename__ = "cities"

    code: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name_ar: Mapped[str] = mapped_column(sa.String(120))
    name_fr: Mapped[str] = mapped_column(sa.String(120))
    court_code: Mapped[str] = mapped_column(sa.ForeignKey("courts.code"), index=True)

    court: Mapped[Court] = relationship(back_populates="cities")


class Complaint(Base):
    __tablename__ = "complaints"

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    client_reference: Mapped[str | None] = mapped_column(sa.String(64), unique=True, nullable=True)
    office_code: Mapped[str] = mapped_column(sa.String(40), index=True)
    category: Mapped[str] = mapped_column(sa.String(40))
    facts_date: Mapped[date] = mapped_column(sa.Date)
    facts_city: Mapped[str] = mapped_column(sa.String(40))
    facts_place: Mapped[str | None] = mapped_column(sa.String(300), nullable=True)
    account: Mapped[str] = mapped_column(sa.Text)
    language: Mapped[str] = mapped_column(sa.String(2))
    complainant_status: Mapped[str] = mapped_column(sa.String(20))
    complainant_id_type: Mapped[str] = mapped_column(sa.String(20))
    # personal data, encrypted (services.common.crypto); None once erased (services.prosecution.retention)
    complainant_id_number: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    complainant_first_name: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    complainant_last_name: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    complainant_birth_date: Mapped[date | None] = mapped_column(EncryptedDate, nullable=True)
    complainant_nationality: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    complainant_address: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    complainant_country: Mapped[str | None] = mapped_column(sa.String(80), nullable=True)
    complainant_phone: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    complainant_email: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    personal_data_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # a corruption report's complainant may ask for this: staff then see the pseudonym only
    identity_sealed: Mapped[bool] = mapped_column(default=False)
    pseudonym: Mapped[str | None] = mapped_column(sa.String(20), nullable=True)
    status: Mapped[str] = mapped_column(sa.String(40), default="received")
    status_before_request: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    register_number: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    decision_reason: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    accused: Mapped[list["Accused"]] = relationship(back_populates="complaint", order_by="Accused.position")
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="complaint", order_by="Attachment.id")
    timeline: Mapped[list["TimelineEntry"]] = relationship(
        back_populates="complaint", order_by="(TimelineEntry.at, TimelineEntry.id)")


class Accused(Base):
    """A person the complaint is against (المشتكى به): natural, legal or unknown."""
    __tablename__ = "accused"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer)
    kind: Mapped[str] = mapped_column(sa.String(20))
    # a person's name and what is known of them, encrypted; a company's name and register are public
    first_name: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    last_name: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    legal_name: Mapped[str | None] = mapped_column(sa.String(200), nullable=True)
    commercial_register: Mapped[str | None] = mapped_column(sa.String(40), nullable=True)
    description: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)  # whatever else is known

    complaint: Mapped[Complaint] = relationship(back_populates="accused")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    blob_key: Mapped[str] = mapped_column(sa.String(200))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))

    complaint: Mapped[Complaint] = relationship(back_populates="attachments")


class TimelineEntry(Base):
    """A dated step the complainant sees (domain.STEPS) and what it says (register number,
    reason, offices)."""
    __tablename__ = "timeline_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(sa.ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    step: Mapped[str] = mapped_column(sa.String(40))
    status: Mapped[str] = mapped_column(sa.String(40))  # where the step left the complaint
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    actor_name: Mapped[str | None] = mapped_column(sa.String(120), nullable=True)  # staff only

    complaint: Mapped[Complaint] = relationship(back_populates="timeline")


class AccessLogEntry(Base):
    """Who opened a file, downloaded a document or unsealed an identity, and why."""
    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[str] = mapped_column(sa.String(64))
    actor_name: Mapped[str] = mapped_column(sa.String(120))
    actor_role: Mapped[str] = mapped_column(sa.String(30))
    tracking_code: Mapped[str] = mapped_column(sa.String(16), index=True)
    action: Mapped[str] = mapped_column(sa.String(20))  # view | attachment | unseal
    reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class Outbox(OutboxMixin, Base):
    __tablename__ = "outbox"
