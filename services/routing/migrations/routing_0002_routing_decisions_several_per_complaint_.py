"""routing decisions: several per complaint, with a reason

Revision ID: routing_0002
Revises: routing_0001
Create Date: 2026-11-29 08:13:00.834761

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import services.common.db


# revision identifiers, used by Alembic.
revision: str = 'routing_0002'
down_revision: Union[str, Sequence[str], None] = 'routing_0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """A complaint is routed again when it is transferred or reopened: a row per routing, keyed by id."""
    # The table as routing_0001 made it, with its key named as PostgreSQL named it, so that the
    # key can be dropped by name on SQLite too (which does not name it).
    previous = sa.Table(
        'routing_decisions', sa.MetaData(),
        sa.Column('tracking_number', sa.String(length=20), nullable=False),
        sa.Column('requested_code', sa.String(length=24), nullable=False),
        sa.Column('administration_code', sa.String(length=24), nullable=False),
        sa.Column('triage', sa.Boolean(), nullable=False),
        sa.Column('routed_at', services.common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('tracking_number', name='routing_decisions_pkey'),
        sa.Index('ix_routing_decisions_administration_code', 'administration_code'))
    # recreated on every database, so the key moves from tracking_number to id the same way
    with op.batch_alter_table('routing_decisions', recreate='always', copy_from=previous) as batch_op:
        batch_op.drop_constraint('routing_decisions_pkey', type_='primary')
        batch_op.add_column(sa.Column('id', sa.Integer(), sa.Identity(always=False), nullable=False))
        batch_op.add_column(sa.Column('reason', sa.String(length=20), server_default='submitted', nullable=False))
        batch_op.create_primary_key('pk_routing_decisions', ['id'])
        batch_op.create_index(batch_op.f('ix_routing_decisions_tracking_number'), ['tracking_number'], unique=False)


def downgrade() -> None:
    """Only the first routing of each complaint survives a downgrade."""
    op.execute("DELETE FROM routing_decisions WHERE reason <> 'submitted'")
    with op.batch_alter_table('routing_decisions', recreate='always') as batch_op:
        batch_op.drop_index(batch_op.f('ix_routing_decisions_tracking_number'))
        batch_op.drop_constraint('pk_routing_decisions', type_='primary')
        batch_op.drop_column('reason')
        batch_op.drop_column('id')
        batch_op.create_primary_key('routing_decisions_pkey', ['tracking_number'])
