"""The knowledge base of the 政社互动 lists and the task check built on it.

    from knowledge import load_knowledge_base
    kb = load_knowledge_base()
    result = kb.check("街道让我们收医保的钱，还天天排名")
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np

from knowledge.cache import cache_key, cached
from knowledge.corpus import CorpusRecord
from knowledge.features import READING_TABLE_SIZE
from knowledge.keywords import KeywordIndex
from knowledge.learned import Scores, TaskModel, examples_from, features, train_task_model
from knowledge.loader import KnowledgeBaseError, RawKnowledge, bundled_data_dir, read_knowledge
from knowledge.model import FORBIDDEN_VERDICTS, PERMITS, VERDICT_OF_LIST, CheckResult, Item, ListKind, Match, Verdict
from knowledge.normalize import CLAUSE_MARK, normalize
from knowledge.prepare import Prepared, Preparer
from knowledge.reading import OutRole, Reader, Reading
from knowledge.reply import compose
from knowledge.tokenizer import Tokenizer
from knowledge.verdict import LISTS_OF_VERDICT as _LISTS_OF
from knowledge.verdict import Candidate, Decision, Rule, Thresholds, decide
from knowledge.vocabulary import CueSet, DepartmentIndex, Readings, SynonymRewriter, compile_cue
from texts import check as T

MAX_TEXT = 4096
MAX_CLAUSES = 4  # a pasted notice's allowed part is in its first clauses; the rest would only cost time
_trained: dict[str, TaskModel] = {}  # one training per corpus and code in a process, whatever the cache dir


class KnowledgeBase:
    """The lists, vocabularies and learned model; `check(text)` answers a cadre's question."""

    def __init__(self, raw: RawKnowledge, cache_dir: Path | None = None, thresholds: Thresholds | None = None,
                 model_key: str = ""):
        self.raw = raw
        self.items: dict[str, Item] = raw.items
        self.profile = raw.profile
        self.agreement = raw.agreement
        self.departments = DepartmentIndex(raw.departments)
        self.thresholds = thresholds or Thresholds()
        rewriter = SynonymRewriter(raw.synonyms)
        terms = {rewriter.rewrite(normalize(t)) for item in raw.items.values() for t in (*item.keywords, *item.hints)}
        terms |= set(raw.synonyms.values()) | set(raw.departments)
        self.readings = Readings()
        self.reading_numbers = self.readings.number_table(READING_TABLE_SIZE)
        department_words = set(raw.departments) | set(raw.departments.values())
        self.preparer = Preparer(raw.dialect, raw.synonyms, Tokenizer(terms, cache_dir), self.readings,
                                 raw.surnames, terms, department_words)
        out_roles = tuple(OutRole(reason, re.compile("|".join(f"(?:{compile_cue(w).pattern})" for w in words)))
                          for reason, words in raw.out_roles)
        self.reader = Reader(CueSet.from_lists(raw.cues, raw.forbidden_roles), raw.askers, department_words, out_roles)
        self.keywords = KeywordIndex(raw.items, self.preparer.canonical)
        self.model = self._model(model_key, cache_dir)

    def _model(self, key: str, cache_dir: Path | None) -> TaskModel:
        if key and key in _trained:
            return _trained[key]

        def build() -> TaskModel:
            return train_task_model(examples_from(self.raw.corpus, self.items, self.featurise), self.items)

        model = cached(None, f"model-{key}", build, shared=shared_model_dir()) if key else build()
        if key:
            _trained[key] = model
        return model

    def featurise(self, text: str) -> np.ndarray:
        return self._row(self.preparer.prepare(text))[0]

    def _row(self, prepared: Prepared) -> tuple[np.ndarray, Reading]:
        """The model's features, read from what is really demanded, and the request's structure."""
        reading = self.reader.read(prepared.text)
        if reading.demanded_text != prepared.text:  # a denied role word is no word of the request
            prepared = Prepared(reading.demanded_text, tuple(self.preparer.tokenizer.words(reading.demanded_text)),
                                prepared.canonical)
        return features(prepared, reading, self.reading_numbers, self.keywords.items_in(prepared.text)), reading

    def _scored(self, prepared: Prepared) -> tuple[Scores, Reading]:
        row, reading = self._row(prepared)
        return self.model.score(row), reading

    def score(self, text: str) -> tuple[Scores, Reading] | None:
        """The model's probabilities and the request's structure; None for a text with no words."""
        prepared = self.preparer.prepare(text)
        return self._scored(prepared) if prepared.text else None

    def decide(self, text: str, disabled: frozenset[Rule] = frozenset(),
               thresholds: Thresholds | None = None) -> Decision | None:
        """The verdict rules' decision for a text that has words, or None; `disabled` switches rules off."""
        prepared = self.preparer.prepare(text)
        if not prepared.text:
            return None
        scores, reading = self._scored(prepared)
        t = thresholds or self.thresholds
        decision = decide(scores, reading, self.items, t, disabled)
        decision.canonical = prepared.canonical
        if decision.verdict in FORBIDDEN_VERDICTS and decision.allowed_part is None:
            allowed = scores.best_items((ListKind.DUTY, ListKind.ASSIST), self.items, 1)
            if allowed and allowed[0][1] >= t.allowed_hint:  # only where the whole hints at an allowed part
                self._name_the_allowed_clause(decision, prepared.text, t)
        return decision

    def _name_the_allowed_clause(self, decision: Decision, text: str, t: Thresholds) -> None:
        """A refusal of a mixed request names its allowed part, read from the clause that asks only for it.

        "人社所让我们挨家挨户收医保的钱，还天天群里排名通报": the whole is C20, the first clause alone is B6.
        """
        clauses = [c for c in text.split(CLAUSE_MARK) if len(c) >= 4][:MAX_CLAUSES]
        best: Candidate | None = None
        for clause in clauses if len(clauses) >= 2 else ():
            scores, _ = self._scored(Prepared(clause, tuple(self.preparer.tokenizer.words(clause)), clause))
            verdict, probability = scores.best_verdict()
            if verdict not in PERMITS or probability < t.permit:
                continue
            found = scores.best_items(_LISTS_OF[Verdict(verdict)], self.items, 1)
            if found and found[0][1] >= t.allowed_clause and (best is None or found[0][1] > best.probability):
                best = Candidate(self.items[found[0][0]], found[0][1])
        if best is not None:
            decision.allowed_part = best
            decision.matches = ([] if decision.verdict == Verdict.UNLISTED else decision.matches[:2]) + [best]

    def retrained(self, records: list[CorpusRecord]) -> KnowledgeBase:
        """The same knowledge base with a model learned from these records only (leave-one-writer-out)."""
        clone = copy.copy(self)
        clone.model = train_task_model(examples_from(records, self.items, self.featurise), self.items)
        return clone

    def check(self, text: str) -> CheckResult:
        """Classify one message. Never raises on any text."""
        problem = _problem(text)
        if problem:
            return CheckResult(Verdict.UNCLEAR, (), _PROBLEM_REPLY[problem].format(limit=MAX_TEXT), problem=problem)
        decision = self.decide(text)
        if decision is None:
            return CheckResult(Verdict.UNCLEAR, (), T.EMPTY, problem="no_words")
        reading = decision.reading
        evidence = tuple(w for w, _ in reading.forbidden_roles) + tuple(w for w, _ in reading.out_roles) if reading else ()
        departments = self.departments.guess(decision.canonical)
        allowed = decision.allowed_part
        return CheckResult(
            verdict=decision.verdict, matches=tuple(_match(c, evidence) for c in decision.matches[:3]),
            reply=compose(decision), department=departments[0] if departments else None,
            allowed_part=_match(allowed, ()) if allowed else None,
            extras={"departments": departments, "out_roles": [w for w, _ in reading.out_roles] if reading else [],
                    "rules": [str(r) for r in decision.fired]},
        )

    def answer_for_item(self, item_id: str) -> CheckResult:
        """The answer as if the check had found this item: for a candidate the cadre picked by hand."""
        item = self.items[item_id]
        chosen = Candidate(item, 1.0)
        if item.list == ListKind.ASSIST and not item.enabled:
            decision = Decision(Verdict.UNLISTED, [chosen], not_in_agreement=item)
        else:
            decision = Decision(VERDICT_OF_LIST[item.list], [chosen])
        return CheckResult(decision.verdict, (_match(chosen, ()),), compose(decision))


def _match(candidate: Candidate, evidence: tuple[str, ...]) -> Match:
    item = candidate.item
    return Match(item.id, item.list, item.title, max(0.01, round(candidate.probability, 4)), evidence)


def shared_model_dir() -> Path:
    """Trained models are keyed by corpus and code alone, so every data directory on the machine shares them."""
    return Path.home() / ".cache" / "cadrebot"


def _problem(text: object) -> str | None:
    if not isinstance(text, str):
        return "no_text"
    if not text.strip():
        return "empty"
    if len(text) > MAX_TEXT:
        return "too_long"
    if any(ch.isdigit() for ch in text) and not any(ch.isalpha() for ch in text):  # "95", "87.5": no task to read
        return "digits_only"
    return None


_PROBLEM_REPLY = {"no_text": T.NO_TEXT, "empty": T.EMPTY, "too_long": T.TOO_LONG, "digits_only": T.DIGITS_ONLY}


def load_knowledge_base(
    data_dir: str | Path | None = None, profile: str = "taicang", agreement: str | None = "demo",
    cache_dir: str | Path | None = None,
) -> KnowledgeBase:
    """Read, validate and index the knowledge base; raises KnowledgeBaseError listing every problem.

    The built index is cached under `cache_dir` (the app passes its data directory's cache; None: only the
    machine's shared cache, see shared_model_dir), keyed by the data.
    """
    root = Path(data_dir) if data_dir else bundled_data_dir()
    cache_dir = Path(cache_dir) if cache_dir else None

    def build() -> KnowledgeBase:
        raw = read_knowledge(root, profile, agreement or None)
        if raw.problems:
            raise KnowledgeBaseError(raw.problems)
        # A town's agreement switches items on and off after the model has spoken: it is no part of training.
        return KnowledgeBase(raw, cache_dir, model_key=cache_key(root, profile, skip=("agreements",)))

    # The compiled knowledge base is keyed by content alone, so a fresh data directory on the same machine
    # loads the copy another one built instead of building again.
    return cached(cache_dir, cache_key(root, profile, agreement or ""), build, shared=shared_model_dir())


def from_settings(settings) -> KnowledgeBase:  # a bot.settings.Settings: knowledge/ never imports bot/
    return load_knowledge_base(settings.knowledge_dir or None, settings.profile, settings.agreement, settings.cache_dir)


__all__ = ["KnowledgeBase", "KnowledgeBaseError", "CheckResult", "Match", "Verdict", "load_knowledge_base", "from_settings"]
