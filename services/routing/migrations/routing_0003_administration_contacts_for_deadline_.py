"""administration contacts for deadline messages

Revision ID: routing_0003
Revises: routing_0002
Create Date: 2026-11-29 10:34:21.325789

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import services.common.db


# revision identifiers, used by Alembic.
revision: str = 'routing_0003'
down_revision: Union[str, Sequence[str], None] = 'routing_0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Where the reminder before a deadline and the notice after it are sent."""
    with op.batch_alter_table('administrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('supervisor_email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('contact_language', sa.String(length=2), server_default='ar', nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('administrations', schema=None) as batch_op:
        batch_op.drop_column('contact_language')
        batch_op.drop_column('supervisor_email')
        batch_op.drop_column('contact_email')
