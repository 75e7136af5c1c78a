"""The two-way evaluation (双向评估): rounds, reminders, the committee's red-card decisions and ratings of
departments, the departments' scores and bonuses, fee payments; department staff as a member role.

Revision ID: 0009_two_way_evaluation
Revises: 0008_update_intake
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_two_way_evaluation'
down_revision: str | None = '0008_update_intake'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('evaluation_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('town_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=8), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'closed')", name=op.f('ck_evaluation_rounds_status')),
    sa.ForeignKeyConstraint(['town_id'], ['towns.id'], name=op.f('fk_evaluation_rounds_town_id_towns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_rounds')),
    sa.UniqueConstraint('town_id', 'code', name=op.f('uq_evaluation_rounds_town_id_code'))
    )
    op.create_table('evaluation_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=8), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_rounds.id'], name=op.f('fk_evaluation_reminders_round_id_evaluation_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_reminders'))
    )
    with op.batch_alter_table('evaluation_reminders', schema=None) as batch_op:
        batch_op.create_index('ix_evaluation_reminders_due', ['sent_at', 'due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_reminders_round_id'), ['round_id'], unique=False)

    op.create_table('fee_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=32), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount_fen > 0', name=op.f('ck_fee_payments_amount')),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_rounds.id'], name=op.f('fk_fee_payments_round_id_evaluation_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_fee_payments_village_id_villages')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_payments'))
    )
    with op.batch_alter_table('fee_payments', schema=None) as batch_op:
        batch_op.create_index('ix_fee_payments_round_id_village_id', ['round_id', 'village_id'], unique=False)

    op.create_table('evaluation_bonuses',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points >= 0', name=op.f('ck_evaluation_bonuses_points')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_evaluation_bonuses_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_rounds.id'], name=op.f('fk_evaluation_bonuses_round_id_evaluation_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_evaluation_bonuses_village_id_villages')),
    sa.PrimaryKeyConstraint('round_id', 'village_id', 'department', name=op.f('pk_evaluation_bonuses'))
    )
    op.create_table('evaluation_ratings',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('aspect_code', sa.String(length=32), nullable=False),
    sa.Column('grade_code', sa.String(length=32), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_evaluation_ratings_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_rounds.id'], name=op.f('fk_evaluation_ratings_round_id_evaluation_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_evaluation_ratings_village_id_villages')),
    sa.PrimaryKeyConstraint('round_id', 'village_id', 'department', 'aspect_code', name=op.f('pk_evaluation_ratings'))
    )
    op.create_table('evaluation_scores',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('village_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=32), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=8), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('score >= 0 AND score <= 100', name=op.f('ck_evaluation_scores_score')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_evaluation_scores_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_rounds.id'], name=op.f('fk_evaluation_scores_round_id_evaluation_rounds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_evaluation_scores_village_id_villages')),
    sa.PrimaryKeyConstraint('round_id', 'village_id', 'item_id', name=op.f('pk_evaluation_scores'))
    )
    op.create_table('evaluation_card_decisions',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('red_card_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=8), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("decision IN ('raised', 'dropped')", name=op.f('ck_evaluation_card_decisions_decision')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_evaluation_card_decisions_member_id_members'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['red_card_id'], ['red_cards.id'], name=op.f('fk_evaluation_card_decisions_red_card_id_red_cards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['round_id'], ['evaluation_rounds.id'], name=op.f('fk_evaluation_card_decisions_round_id_evaluation_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'red_card_id', name=op.f('pk_evaluation_card_decisions'))
    )
    _roles(ROLE, PLACE, add=True)


# Department staff become a role: the role CHECKs of members and invites are replaced (SQLite: the batch recreates
# the table).
ROLE = ("role IN ('cadre', 'bureau', 'admin')", "role IN ('cadre', 'bureau', 'admin', 'department')")
PLACE = ("(role = 'cadre' AND village_id IS NOT NULL) OR (role = 'bureau' AND town_id IS NOT NULL) OR role = 'admin'",
         "(role = 'cadre' AND village_id IS NOT NULL) OR (role = 'bureau' AND town_id IS NOT NULL) OR role = 'admin'"
         " OR (role = 'department' AND town_id IS NOT NULL AND department <> '')")


def _roles(role: tuple[str, str], place: tuple[str, str], *, add: bool) -> None:
    new = 1 if add else 0
    with op.batch_alter_table('invites', schema=None) as batch_op:
        if add:
            batch_op.add_column(sa.Column('department', sa.String(length=100), server_default='', nullable=False))
        batch_op.drop_constraint(op.f('ck_invites_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_invites_role'), role[new])
        if not add:
            batch_op.drop_column('department')
    with op.batch_alter_table('members', schema=None) as batch_op:
        if add:
            batch_op.add_column(sa.Column('department', sa.String(length=100), server_default='', nullable=False))
        batch_op.drop_constraint(op.f('ck_members_role'), type_='check')
        batch_op.drop_constraint(op.f('ck_members_role_place'), type_='check')
        batch_op.create_check_constraint(op.f('ck_members_role'), role[new])
        batch_op.create_check_constraint(op.f('ck_members_role_place'), place[new])
        if not add:
            batch_op.drop_column('department')


def downgrade() -> None:
    op.execute("DELETE FROM members WHERE role = 'department'")
    op.execute("DELETE FROM invites WHERE role = 'department'")
    _roles(ROLE, PLACE, add=False)
    op.drop_table('evaluation_card_decisions')
    op.drop_table('evaluation_scores')
    op.drop_table('evaluation_ratings')
    op.drop_table('evaluation_bonuses')
    with op.batch_alter_table('fee_payments', schema=None) as batch_op:
        batch_op.drop_index('ix_fee_payments_round_id_village_id')

    op.drop_table('fee_payments')
    with op.batch_alter_table('evaluation_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_reminders_round_id'))
        batch_op.drop_index('ix_evaluation_reminders_due')

    op.drop_table('evaluation_reminders')
    op.drop_table('evaluation_rounds')
