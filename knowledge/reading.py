"""The structure of a request: who asks, what role is demanded of the committee, and what a denial covers.

Read from the data (reading.yaml for askers, cues.yaml for roles and negations); the verdict rules and the
reply use it, and the model sees it as features.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from knowledge.vocabulary import CueSet


class Asker(StrEnum):
    """Who hands the committee the work."""

    GOVERNMENT = "government"  # a department, the town or street, the district
    COMMITTEE = "committee"  # the committee itself ("村里想自己搞…")
    COMMERCIAL = "commercial"  # a company, bank, hospital, school, property company, platform
    RESIDENT = "resident"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class OutRole:
    """A role outside every list (collecting money, selling, padding numbers), with the reason a cadre reads."""

    reason: str
    pattern: re.Pattern  # every word of the role, one alternation


@dataclass(frozen=True)
class Reading:
    asker: Asker
    asker_word: str
    forbidden_roles: tuple[tuple[str, str], ...]  # (word as written, the C item it breaks by default)
    out_roles: tuple[tuple[str, str], ...]  # (word as written, reason)
    assist_roles: tuple[str, ...]
    denied: bool  # something in the message is denied ("不是让我们…", "不用当责任主体")
    demanded_text: str = ""  # the message with every denied role word blanked out: what is really asked

    def features(self) -> list[str]:
        found = [f"asker:{self.asker.value}"]
        found += [f"role:{item_id}" for _, item_id in self.forbidden_roles]
        found += ["role:out"] * bool(self.out_roles)
        found += ["role:assist"] * bool(self.assist_roles)
        found += ["denied"] * self.denied
        return found


# Verbs that hand the committee a task; 要 only where the committee follows ("社区学校要开班" is no request).
_REQUEST = re.compile(r"让|叫|喊|请|找|要求|通知|委托|麻烦|托|要(?=我|咱|你们|社区|村|居委|各)")

# Clause openers that add a second demand to the first ("协助普查可以，还要我们垫钱"): the words after them
# are marked, so the model can tell the added demand from the request it rides on.
SECOND_DEMAND = re.compile(r"还要|还得|还让|还叫|还喊|另外|另要求|同时|又要|又让|但是?要|并且|还需|还必须|此外")


DENIED = "〇"  # stands in for each character of a denied role word


class Reader:
    def __init__(self, cues: CueSet, askers: dict[str, list[str]], government_words: set[str],
                 out_roles: tuple[OutRole, ...]):
        self.cues = cues
        self.out_roles = out_roles
        words: dict[str, Asker] = {w: Asker.GOVERNMENT for w in government_words}
        for kind, listed in askers.items():
            for word in listed:
                words[word] = Asker(kind)
        words.update({w: Asker.COMMITTEE for w in cues.self_initiative})
        # A department alias that names a business ("物业公司") is the business asking, not the government.
        commercial = askers.get(Asker.COMMERCIAL.value, [])
        for word in list(words):
            if words[word] == Asker.GOVERNMENT and any(c in word for c in commercial):
                words[word] = Asker.COMMERCIAL
        ordered = sorted(words, key=len, reverse=True)
        self._asker_words = words
        self._asker_pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None

    def asker(self, text: str) -> tuple[Asker, str]:
        """The party named last before the committee is first asked to act ("有商户乱摆广告牌，城管叫我们…" is 城管's
        request), else the first party named ("镇里转来保险公司的任务" is the town's demand, not the company's)."""
        if self._asker_pattern is None:
            return Asker.UNKNOWN, ""
        mentions = list(self._asker_pattern.finditer(text))
        if not mentions:
            return Asker.UNKNOWN, ""
        request = _REQUEST.search(text)
        before = [m for m in mentions if request and m.end() <= request.start()]
        chosen = before[-1] if before else mentions[0]
        return self._asker_words[chosen.group(0)], chosen.group(0)

    def read(self, text: str) -> Reading:
        cues = self.cues
        asker, word = self.asker(text)
        roles, denied_spans = cues.roles_and_denials(text)
        out = []
        for role in self.out_roles:
            live = []
            for m in role.pattern.finditer(text):
                if cues.is_negated(text, m.start(), len(m.group(0))):
                    denied_spans.append(m.span())
                else:
                    live.append(m.group(0))
            if live:
                out.append((live[0], role.reason))
        demanded = text
        for start, end in sorted(denied_spans, reverse=True):
            demanded = demanded[:start] + DENIED * (end - start) + demanded[end:]
        return Reading(
            asker=asker, asker_word=word, forbidden_roles=tuple(roles), out_roles=tuple(out),
            assist_roles=tuple(cues.any_in(cues.assist_roles, text)),
            denied=any(neg in text for neg in cues.negations), demanded_text=demanded,
        )
