"""A demo town with members of every role, an open 2026H2 round, and the evaluation basis of the bundled data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from flows.evaluation.basis import EvaluationBasis
from knowledge.loader import read_knowledge
from storage.evaluation import open_round
from storage.members import issue_invite, redeem_invite
from storage.places import add_town, add_village

TZ = "Asia/Shanghai"
IN_ROUND = datetime(2026, 9, 10, 3, 0, tzinfo=UTC)  # inside 2026H2
OPENED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def basis() -> EvaluationBasis:
    raw = read_knowledge(None, "taicang", "demo", with_corpus=False)
    return EvaluationBasis.from_raw(raw, SimpleNamespace(survey_aspects="", timezone=TZ))


@dataclass
class Town:
    villages: dict  # code -> Village
    members: dict  # name -> Member
    round_id: int


@pytest.fixture
def town(session_factory) -> Town:
    """DEMO (示范镇) with DEMO01 东风村, DEMO02 新河社区, DEMO03 南湖村; another town OTHER with OT01; members
    cadre1/2/3 (DEMO01-03), cadre_other (OT01), bureau (DEMO), bureau_other (OTHER), hr (人社局 of DEMO),
    civil (民政局 of DEMO), hr_other (人社局 of OTHER), admin; the round 2026H2 of DEMO, deadline 2027-01-15."""
    with session_factory() as s:
        add_town(s, "DEMO", "示范镇")
        add_town(s, "OTHER", "别镇")
        villages = {code: add_village(s, code, name, "DEMO")
                    for code, name in (("DEMO01", "东风村"), ("DEMO02", "新河社区"), ("DEMO03", "南湖村"))}
        villages["OT01"] = add_village(s, "OT01", "外村", "OTHER")
        specs = {
            "cadre1": dict(role="cadre", village_code="DEMO01"),
            "cadre2": dict(role="cadre", village_code="DEMO02"),
            "cadre3": dict(role="cadre", village_code="DEMO03"),
            "cadre_other": dict(role="cadre", village_code="OT01"),
            "bureau": dict(role="bureau", town_code="DEMO"),
            "bureau_other": dict(role="bureau", town_code="OTHER"),
            "hr": dict(role="department", town_code="DEMO", department="人社局"),
            "civil": dict(role="department", town_code="DEMO", department="民政局"),
            "hr_other": dict(role="department", town_code="OTHER", department="人社局"),
            "admin": dict(role="admin"),
        }
        members = {}
        for i, (name, spec) in enumerate(specs.items(), 1):
            invite = issue_invite(s, **spec)
            members[name] = redeem_invite(s, invite.code, telegram_user_id=7_100_000 + i, display_name=name)
        rnd = open_round(s, "DEMO", "2026H2", deadline=date(2027, 1, 15), now=OPENED, tz=TZ)
        s.commit()
        return Town(villages=villages, members=members, round_id=rnd.id)
