"""proxy rules take effect and revert by themselves: applied_at, reverted_at

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 08:00:00.000000

Existing rules: a cancelled rule was given back by cancel_proxy (reverted_at = cancelled_at); a rule created
while active moved the open tasks then (applied_at = created_at). Every other rule is left to the
`proxy_rules` job: one active now has its start applied on the first run, one already over gives back the
tasks it moved that are still open and not delegated.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('proxy_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applied_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('reverted_at', sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE proxy_rule SET applied_at = created_at "
        "WHERE starts_at <= created_at AND created_at < ends_at"
    )
    op.execute("UPDATE proxy_rule SET reverted_at = cancelled_at WHERE cancelled_at IS NOT NULL")
    with op.batch_alter_table('proxy_rule', schema=None) as batch_op:
        batch_op.create_index(
            'ix_proxy_rule_pending',
            ['starts_at'],
            unique=False,
            postgresql_where=sa.text('reverted_at IS NULL'),
            sqlite_where=sa.text('reverted_at IS NULL'),
        )


def downgrade():
    with op.batch_alter_table('proxy_rule', schema=None) as batch_op:
        batch_op.drop_index('ix_proxy_rule_pending')
        batch_op.drop_column('reverted_at')
        batch_op.drop_column('applied_at')
