"""deliveries retried with the message they carry

Revision ID: notify_0002
Revises: notify_0001
Create Date: 2026-11-29 10:34:51.420688

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import services.common.db


# revision identifiers, used by Alembic.
revision: str = 'notify_0002'
down_revision: Union[str, Sequence[str], None] = 'notify_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A delivery keeps its message and its attempts, to be retried after a temporary failure."""
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('next_attempt_at', services.common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('subject', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('body', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('html', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_deliveries_next_attempt_at'), ['next_attempt_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deliveries_next_attempt_at'))
        batch_op.drop_column('html')
        batch_op.drop_column('body')
        batch_op.drop_column('subject')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('attempts')
