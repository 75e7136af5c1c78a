"""Anonymity: a response's respondent key may be NULL, erased once its survey period has closed.

Revision ID: 0006_survey_key_erasure
Revises: 0005_invite_attempts
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_survey_key_erasure'
down_revision: str | None = '0005_invite_attempts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # UNIQUE(respondent_key) stays: NULLs never collide (SQLite and PostgreSQL), so it still means one response per
    # person, village and period while a period is open.
    with op.batch_alter_table('survey_responses') as batch:
        batch.alter_column('respondent_key', existing_type=sa.String(length=64), nullable=True)


def downgrade() -> None:
    # The erased keys cannot come back: each gets a placeholder of its own (unique, matching no one), so that
    # the column can be NOT NULL again and the responses still count.
    op.execute("UPDATE survey_responses SET respondent_key = 'erased-' || CAST(id AS VARCHAR(20)) "
               "WHERE respondent_key IS NULL")
    with op.batch_alter_table('survey_responses') as batch:
        batch.alter_column('respondent_key', existing_type=sa.String(length=64), nullable=False)
