"""The knowledge base of the 政社互动 lists and the task check built on it.

    from knowledge import load_knowledge_base
    kb = load_knowledge_base()
    result = kb.check("街道让我们收医保的钱，还天天排名")
"""

from __future__ import annotations

from pathlib import Path

from bot.texts import check as T
from knowledge.cache import cache_key, cached
from knowledge.loader import KnowledgeBaseError, RawKnowledge, bundled_data_dir, read_knowledge
from knowledge.matcher import Analysis, ItemScore, Matcher
from knowledge.model import VERDICT_OF_LIST, CheckResult, Item, Match, Verdict
from knowledge.normalize import normalize
from knowledge.reply import compose
from knowledge.tokenizer import Tokenizer, default_cache_dir
from knowledge.verdict import Decision, Thresholds, decide
from knowledge.vocabulary import CueSet, DepartmentIndex, SynonymRewriter

MAX_TEXT = 4096


class KnowledgeBase:
    """The lists, vocabularies and matcher; `check(text)` answers a cadre's question."""

    def __init__(self, raw: RawKnowledge, cache_dir: Path | None = None, thresholds: Thresholds | None = None):
        self.raw = raw
        self.items: dict[str, Item] = raw.items
        self.profile = raw.profile
        self.agreement = raw.agreement
        self.departments = DepartmentIndex(raw.departments)
        self.thresholds = thresholds or Thresholds()
        rewriter = SynonymRewriter(raw.synonyms)
        terms = {rewriter.rewrite(normalize(t)) for item in raw.items.values() for t in (*item.keywords, *item.hints)}
        terms |= set(raw.synonyms.values()) | set(raw.departments)
        self.matcher = Matcher(raw.items, rewriter, CueSet.from_lists(raw.cues), Tokenizer(terms, cache_dir),
                               context_words=set(raw.departments))

    def analyse(self, text: str) -> Analysis:
        return self.matcher.analyse(text)

    def check(self, text: str) -> CheckResult:
        """Classify one message. Never raises on any text."""
        problem = _problem(text)
        if problem:
            return CheckResult("unclear", (), _PROBLEM_REPLY[problem].format(limit=MAX_TEXT), problem=problem)
        analysis = self.matcher.analyse(text)
        if not analysis.text:
            return CheckResult("unclear", (), T.EMPTY, problem="no_words")
        decision = decide(analysis, self.items, self.thresholds)
        matches = tuple(
            Match(s.item.id, s.item.list, s.item.title, s.score / (s.score + 1.0), tuple(s.words)) for s in decision.matches[:3]
        )
        allowed = decision.allowed_part
        departments = self.departments.guess(analysis.text)
        return CheckResult(
            verdict=decision.verdict, matches=matches, reply=compose(decision),
            department=departments[0] if departments else None,
            allowed_part=Match(allowed.item.id, allowed.item.list, allowed.item.title,
                               allowed.score / (allowed.score + 1.0), tuple(allowed.words)) if allowed else None,
            extras={"departments": departments, "out_roles": decision.out_roles},
        )


    def answer_for_item(self, item_id: str) -> CheckResult:
        """The answer as if the check had found this item: for a candidate the cadre picked by hand."""
        item = self.items[item_id]
        chosen = ItemScore(item, 1.0, 1.0, [])
        if item.list == "assist" and not item.enabled:
            decision = Decision("unlisted", [chosen], not_in_agreement=item)
        else:
            decision = Decision(VERDICT_OF_LIST[item.list], [chosen])
        match = Match(item.id, item.list, item.title, 1.0, ())
        return CheckResult(decision.verdict, (match,), compose(decision))


def _problem(text: object) -> str | None:
    if not isinstance(text, str):
        return "no_text"
    if not text.strip():
        return "empty"
    if len(text) > MAX_TEXT:
        return "too_long"
    return None


_PROBLEM_REPLY = {"no_text": T.NO_TEXT, "empty": T.EMPTY, "too_long": T.TOO_LONG}


def load_knowledge_base(
    data_dir: str | Path | None = None, profile: str = "taicang", agreement: str | None = "demo",
    cache_dir: str | Path | None = None,
) -> KnowledgeBase:
    """Read, validate and index the knowledge base; raises KnowledgeBaseError listing every problem.

    The built index is cached under `cache_dir` (default: the data directory's cache), keyed by the data.
    """
    root = Path(data_dir) if data_dir else bundled_data_dir()
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()

    def build() -> KnowledgeBase:
        raw = read_knowledge(root, profile, agreement or None)
        if raw.problems:
            raise KnowledgeBaseError(raw.problems)
        return KnowledgeBase(raw, cache_dir)

    return cached(cache_dir, cache_key(root, profile, agreement or ""), build)


def from_settings(settings) -> KnowledgeBase:  # noqa: ANN001 (bot.settings.Settings; avoids an import cycle)
    return load_knowledge_base(settings.knowledge_dir or None, settings.profile, settings.agreement, settings.cache_dir)


__all__ = ["KnowledgeBase", "KnowledgeBaseError", "CheckResult", "Match", "Verdict", "load_knowledge_base", "from_settings"]
