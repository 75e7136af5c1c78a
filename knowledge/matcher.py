"""Scores every list item against a cadre's message: keywords, homophones, BM25 over words, phrasing similarity."""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from knowledge.model import Item
from knowledge.normalize import has_cjk, normalize
from knowledge.tokenizer import Tokenizer
from knowledge.vocabulary import CueSet, Readings, SynonymRewriter

STRONG, HINT = 1.0, 0.3
HOMOPHONE_DISCOUNT = 0.85  # a term heard but spelt differently is slightly less sure
BM25_WEIGHT, PHRASING_WEIGHT = 0.6, 0.6
BM25_HALF = 6.0  # a BM25 score this high counts half of BM25_WEIGHT: roughly two specific shared words
PHRASING_FLOOR = 55  # rapidfuzz ratio below this says nothing
K1, B = 1.2, 0.75


@dataclass
class ItemScore:
    """How well one item fits the message, and the words that made it fit."""

    item: Item
    score: float = 0.0
    keyword_score: float = 0.0
    words: list[str] = field(default_factory=list)

    def compare_key(self) -> tuple[float, float]:
        return (self.score, self.keyword_score)


@dataclass
class Analysis:
    """What the matcher read in the message, for the verdict rules and the reply."""

    text: str  # normalised, synonyms rewritten
    ranked: list[ItemScore]
    negated: list[str]
    out_roles: list[str]
    assist_roles: list[str]
    certificate_words: list[str]
    task_cues: list[str]
    chitchat: list[str]
    tokens: list[str]
    forbidden_roles: list[tuple[str, str]] = field(default_factory=list)
    question_cues: list[str] = field(default_factory=list)
    content_words: list[str] = field(default_factory=list)  # words that say what the task is about
    denied: bool = False  # the message denies something ("不是让我们…", "不要求…")
    self_initiated: list[str] = field(default_factory=list)  # the committee itself wants to do it ("村里想办…")

    def best(self, *lists: str) -> ItemScore | None:
        return next((s for s in self.ranked if s.item.list in lists), None)


def _length_factor(term: str) -> float:
    # Longer terms are more specific: 2 chars 0.9, 3 chars 1.05, 4+ chars 1.2.
    return min(1.2, 0.6 + 0.15 * len(term))


class Matcher:
    """Built once per knowledge base; `analyse(text)` is the hot path."""

    def __init__(self, items: dict[str, Item], rewriter: SynonymRewriter, cues: CueSet, tokenizer: Tokenizer,
                 context_words: set[str] = frozenset()):
        self.items = items
        self.rewriter = rewriter
        self.cues = cues
        self.tokenizer = tokenizer
        self.readings = Readings()
        # Who asks (a department) and in what role (publicise, certify) is context, not the topic of the task:
        # such words count as hints even where the data lists them as keywords.
        self._context = {self.canonical(w) for w in context_words} | {self.canonical(w) for w in cues.context_words()}
        self._build_term_index()
        self._build_bm25()
        self._build_phrasings()

    def canonical(self, text: str) -> str:
        return self.rewriter.rewrite(normalize(text))

    # ---- index building -------------------------------------------------------------------------
    def _build_term_index(self) -> None:
        owners: dict[str, dict[str, float]] = defaultdict(dict)
        for item in self.items.values():
            for strength, terms in ((HINT, item.hints), (STRONG, item.keywords)):
                for raw_term in terms:
                    term = self.canonical(raw_term)
                    if len(term) >= 2:
                        weight = HINT if term in self._context else strength
                        owners[term][item.id] = max(owners[term].get(item.id, 0.0), weight)
        # Terms are looked up by their first character (and, for sound-alikes, their first syllable), so a
        # check costs a few dictionary probes per character of the message, not one scan per term.
        self._by_char: dict[str, list[tuple[str, list[tuple[str, float]]]]] = defaultdict(list)
        self._by_sound: dict[str, list[tuple[str, tuple[str, ...], list[tuple[str, float]]]]] = defaultdict(list)
        for term, by_item in owners.items():
            specificity = 1.0 / math.sqrt(len(by_item))
            weighted = [(item_id, strength * specificity * _length_factor(term)) for item_id, strength in by_item.items()]
            self._by_char[term[0]].append((term, weighted))
            # Only topic words are worth recovering from a mis-heard spelling.
            if any(strength == STRONG for strength in by_item.values()) and has_cjk(term) and len(term) >= 2:
                syllables = tuple(self.readings.syllables(term))
                self._by_sound[syllables[0]].append((term, syllables, weighted))

    def _document(self, item: Item) -> list[str]:
        parts = [item.title, item.text, *item.keywords, *item.hints, *item.phrasings]
        return self.tokenizer.words(self.canonical(" ".join(parts)))

    def _build_bm25(self) -> None:
        docs = {item_id: Counter(self._document(item)) for item_id, item in self.items.items()}
        self._doc_len = {item_id: sum(tf.values()) for item_id, tf in docs.items()}
        self._avgdl = sum(self._doc_len.values()) / max(1, len(docs))
        df: Counter = Counter()
        for tf in docs.values():
            df.update(tf.keys())
        n = len(docs)
        self._idf = {tok: math.log((n - d + 0.5) / (d + 0.5) + 1.0) for tok, d in df.items()}
        self._postings: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for item_id, tf in docs.items():
            for tok, count in tf.items():
                self._postings[tok].append((item_id, count))

    def _build_phrasings(self) -> None:
        self._phrasing_owner: list[str] = []
        self._phrasing_text: list[str] = []
        for item in self.items.values():
            for phrasing in item.phrasings:
                self._phrasing_owner.append(item.id)
                self._phrasing_text.append(self.canonical(phrasing))

    # ---- scoring --------------------------------------------------------------------------------
    def _term_hits(self, text: str) -> tuple[dict[str, list[tuple[int, int, float, str]]], list[str]]:
        """Per item: (start, end, weight, word) of the first live occurrence of every term, literal or by sound."""
        found: dict[str, tuple[list[int], float, list[tuple[str, float]]]] = {}
        for i, ch in enumerate(text):
            for term, weighted in self._by_char.get(ch, ()):
                if text.startswith(term, i):
                    found.setdefault(term, ([], 1.0, weighted))[0].append(i)
        self._add_sound_alikes(text, found)

        hits: dict[str, list[tuple[int, int, float, str]]] = defaultdict(list)
        negated: list[str] = []
        for term, (positions, discount, weighted) in found.items():
            live = [p for p in positions if not self.cues.is_negated(text, p, len(term))]
            if not live:
                negated.append(term)
                continue
            for item_id, weight in weighted:
                hits[item_id].append((live[0], live[0] + len(term), weight * discount, term))
        return hits, negated

    def _add_sound_alikes(self, text: str, found: dict) -> None:
        """Terms heard but spelt differently (争兵 for 征兵), where the spelling is no word of its own."""
        syllables = self.readings.syllables(text)
        boundaries: set[int] | None = None
        for i, first in enumerate(syllables):
            for term, reading, weighted in self._by_sound.get(first, ()):
                end = i + len(reading)
                if term in found or tuple(syllables[i:end]) != reading:
                    continue
                if boundaries is None:
                    boundaries = self.tokenizer.boundaries(text)
                # Sounds that run across two real words ("维权|知识" holds 犬只) or form a word of their own
                # (大家 is no mishearing of 打架) are not a mishearing of the term.
                if i in boundaries and end in boundaries and not self.tokenizer.is_word(text[i:end]):
                    found[term] = ([i], HOMOPHONE_DISCOUNT, weighted)

    @staticmethod
    def _keyword_score(found: list[tuple[int, int, float, str]]) -> tuple[float, list[str]]:
        """Sum of the terms found, counting a term inside a longer found term of the same item once."""
        found = sorted(found, key=lambda h: (h[1] - h[0]), reverse=True)
        kept: list[tuple[int, int, float, str]] = []
        for hit in found:
            if any(k[0] <= hit[0] and hit[1] <= k[1] for k in kept):
                continue
            kept.append(hit)
        ordered = sorted(kept, key=lambda h: h[2], reverse=True)
        # Diminishing returns, so an item with many weak words does not beat one with the exact term.
        score = sum(h[2] * (0.6 ** i) for i, h in enumerate(ordered))
        return score, [h[3] for h in sorted(kept, key=lambda h: h[0])]

    def _bm25(self, tokens: list[str]) -> dict[str, float]:
        scores: dict[str, float] = defaultdict(float)
        for tok in set(tokens):
            idf = self._idf.get(tok)
            if idf is None:
                continue
            for item_id, tf in self._postings[tok]:
                norm = K1 * (1 - B + B * self._doc_len[item_id] / self._avgdl)
                scores[item_id] += idf * tf * (K1 + 1) / (tf + norm)
        return scores

    def _phrasing_similarity(self, text: str) -> dict[str, float]:
        """Character-level similarity to the typical phrasings: catches paraphrases and typos of whole requests."""
        if len(text) < 4 or not self._phrasing_text:
            return {}
        best: dict[str, float] = {}
        for _, score, index in process.extract(text, self._phrasing_text, scorer=fuzz.ratio,
                                               limit=8, score_cutoff=PHRASING_FLOOR):
            owner = self._phrasing_owner[index]
            best[owner] = max(best.get(owner, 0.0), (score - PHRASING_FLOOR) / (100 - PHRASING_FLOOR))
        return best

    def analyse(self, text: str) -> Analysis:
        canon = self.canonical(text)
        hits, negated = self._term_hits(canon)
        tokens = self.tokenizer.words(canon)
        bm25 = self._bm25(tokens)
        phrasing = self._phrasing_similarity(canon)

        scored: list[ItemScore] = []
        for item_id in set(hits) | set(bm25) | set(phrasing):
            keyword_score, words = self._keyword_score(hits.get(item_id, []))
            relevance = bm25.get(item_id, 0.0)
            total = (keyword_score + BM25_WEIGHT * relevance / (relevance + BM25_HALF)
                     + PHRASING_WEIGHT * phrasing.get(item_id, 0.0))
            scored.append(ItemScore(self.items[item_id], total, keyword_score, words))
        ranked = heapq.nlargest(16, scored, key=ItemScore.compare_key)

        cues = self.cues
        return Analysis(
            text=canon, ranked=ranked, negated=negated, out_roles=cues.out_roles(canon),
            assist_roles=cues.any_in(cues.assist_roles, canon), certificate_words=cues.any_in(cues.certificate_words, canon),
            task_cues=cues.any_in(cues.task_cues, canon), chitchat=cues.any_in(cues.chitchat, canon), tokens=tokens,
            forbidden_roles=cues.roles_found(canon), question_cues=cues.any_in(cues.question_cues, canon),
            content_words=[w for w in tokens if len(w) >= 2 and w not in self._context and not cues.is_vague(w)],
            denied=bool(negated) or bool(cues.any_in(cues.negations, canon)),
            self_initiated=cues.any_in(cues.self_initiative, canon),
        )
