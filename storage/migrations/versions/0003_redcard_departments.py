"""Red cards keep the department as typed, with a normalised key beside it; a withdrawal can be undone; residents.

- red_cards gains `department_key`: the canonical department name, only for grouping (digest, year-end review).
  Existing rows were saved under their canonical name already, so the key starts as a copy of `department`.
- red_card_events may record 'restored' (a withdrawal undone within a day).
- residents: keyed hashes of people who came through a survey link and never registered (no Telegram ID).

Revision ID: 0003_redcard_departments
Revises: 0002_pending_steps
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003_redcard_departments'
down_revision: str | None = '0002_pending_steps'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIONS_BEFORE = "action IN ('created', 'reported_again', 'confirmed', 'withdrawn', 'included')"
ACTIONS_AFTER = "action IN ('created', 'reported_again', 'confirmed', 'withdrawn', 'included', 'restored')"


def upgrade() -> None:
    op.add_column('red_cards', sa.Column('department_key', sa.String(length=100), server_default='', nullable=False))
    op.execute(sa.text('UPDATE red_cards SET department_key = department'))
    with op.batch_alter_table('red_card_events') as batch:
        batch.drop_constraint(op.f('ck_red_card_events_action'), type_='check')
        batch.create_check_constraint(op.f('ck_red_card_events_action'), ACTIONS_AFTER)
    op.create_table('residents',
    sa.Column('owner_key', sa.String(length=64), nullable=False),
    sa.Column('first_seen', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('owner_key', name=op.f('pk_residents'))
    )


def downgrade() -> None:
    op.drop_table('residents')
    op.execute(sa.text("DELETE FROM red_card_events WHERE action = 'restored'"))
    with op.batch_alter_table('red_card_events') as batch:
        batch.drop_constraint(op.f('ck_red_card_events_action'), type_='check')
        batch.create_check_constraint(op.f('ck_red_card_events_action'), ACTIONS_BEFORE)
    with op.batch_alter_table('red_cards') as batch:
        batch.drop_column('department_key')
