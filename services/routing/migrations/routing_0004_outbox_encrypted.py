"""outbox encrypted

The outbox's events, which carry the complaint and its complainant to the administration's
queue, become encrypted text (services.common.crypto), the rows waiting so far encrypted in place.

Revision ID: routing_0004
Revises: routing_0003
Create Date: 2026-11-29 12:10:02.114532

"""
from typing import Sequence, Union

from services.common.crypto import decrypt_outbox, encrypt_outbox


# revision identifiers, used by Alembic.
revision: str = 'routing_0004'
down_revision: Union[str, Sequence[str], None] = 'routing_0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    encrypt_outbox()


def downgrade() -> None:
    decrypt_outbox()
