"""case events written with the change, published to the outbox afterwards

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-23 07:50:00.000000

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending_events', sa.Text(), nullable=True))
        batch_op.create_index(
            'ix_case_record_pending_events',
            ['id'],
            unique=False,
            postgresql_where=sa.text('pending_events IS NOT NULL'),
            sqlite_where=sa.text('pending_events IS NOT NULL'),
        )


def downgrade():
    with op.batch_alter_table('case_record', schema=None) as batch_op:
        batch_op.drop_index('ix_case_record_pending_events')
        batch_op.drop_column('pending_events')
