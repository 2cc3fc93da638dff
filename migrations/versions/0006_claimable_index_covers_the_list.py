"""claimable index covers the list: (state, role, department, due_at, id, assignee_id)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 08:00:00.000000

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

OLD = ['state', 'candidate_role', 'candidate_department', 'due_at']
NEW = ['state', 'candidate_role', 'candidate_department', 'due_at', 'id', 'assignee_id']


def upgrade():
    # id and assignee_id in the index: the claimable count is answered from the index alone, and each
    # (role, department) branch of the list is read in (due_at, id) order without visiting the table
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_claimable')
        batch_op.create_index('ix_human_task_claimable', NEW, unique=False)


def downgrade():
    with op.batch_alter_table('human_task', schema=None) as batch_op:
        batch_op.drop_index('ix_human_task_claimable')
        batch_op.create_index('ix_human_task_claimable', OLD, unique=False)
