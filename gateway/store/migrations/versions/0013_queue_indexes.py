"""the staff console's queues read from indexes (issue 18)

`(status, department, due_at, id)` answers a handler's queue (its departments' open cases by due time),
the open cases per department and the queue counts from the index alone; `(status, due_at, id)` replaces
`(status, due_at)` so that a queue's page of ids is read from the index before 50 rows are fetched
(bench/RESULTS.md, issue 18: a page sorted all 20,000 open rows of the table, 40–150 ms on PostgreSQL).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 15:00:00.000000
"""

from collections.abc import Sequence

from alembic import op


revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_cases_status_due_at_id', 'cases', ['status', 'due_at', 'id'])
    op.drop_index('ix_cases_status_due_at', table_name='cases')
    op.create_index('ix_cases_status_department_due_at_id', 'cases', ['status', 'department', 'due_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_cases_status_department_due_at_id', table_name='cases')
    op.create_index('ix_cases_status_due_at', 'cases', ['status', 'due_at'])
    op.drop_index('ix_cases_status_due_at_id', table_name='cases')
