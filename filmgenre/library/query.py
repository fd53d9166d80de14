"""The query language of a library's search: genres, the mood model's moods, the words of a
brief (:mod:`.thesaurus`) and the musicnn taggers' words (:mod:`.vocabulary`), with weights,
negatives included; ranges and keys for the filters.

- ``"calm piano -vocals"``, ``"tense strings -happy"``, ``"dark Thriller"``: every named
  term weight 1, a leading ``-`` weight -1; ``not``/``no``/``without`` before a word negates
  it too (``"no vocals"`` is itself a word); phrases are read whole, longest first
  (``"under dialogue"``, ``"female vocal"``); words that carry no meaning for search
  (a, with, music, track ...) are left out and listed in the query's explanation;
- ``"Thriller=1,strings=1,loud=0.5,happy=-1"``: explicit weights (any real number; 0
  ignores);
- a word of the thesaurus stands for its mapping (``lullaby`` = tenderness, calmness and
  low arousal), scaled so that every word of a query weighs the same;
- genre names as elsewhere in filmgenre (case, spacing, ``SciFi``/``Science Fiction``);
  an unknown word is an error that names close words by spelling and by meaning.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..data.moods import MOODS
from ..genres import GENRES, genre_of
from . import thesaurus, vocabulary


class QueryError(ValueError):
    """A query that cannot be run, with what is wrong in words (the page answers 400)."""


@dataclass
class Mix:
    """A parsed query: weights of genres, moods and tagger words (by word name), and how
    each typed word was read."""

    genres: dict[str, float] = field(default_factory=dict)
    words: dict[str, float] = field(default_factory=dict)
    moods: dict[str, float] = field(default_factory=dict)
    #: (what was typed, with its sign, and what it was read as)
    readings: list[tuple[str, str]] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.genres or self.words or self.moods)

    def terms(self) -> list[str]:
        return [*self.genres, *self.moods, *self.words]

    def explain(self) -> str:
        """One line: each typed word and what it was read as."""
        parts = [f"{typed} = {read}" for typed, read in self.readings]
        if self.ignored:
            parts.append(f"left out: {', '.join(self.ignored)}")
        return "; ".join(parts)


#: a reading of a phrase: the base terms it stands for with their weights, what kind of word
#: it is, and what of its mapping the index cannot answer (said in the query's explanation)
Reading = tuple[tuple[tuple[thesaurus.Term, float], ...], str, str]


def _describe(term: thesaurus.Term, weight: float) -> str:
    if term.kind == "mood" and term.name in ("valence", "arousal"):
        name = f"{'high' if weight > 0 else 'low'} {term.name}"
        weight = abs(weight)
    else:
        name = term.label() if weight > 0 else f"not {term.label()}"
    return name if abs(abs(weight) - 1) < 1e-9 else f"{name} {abs(weight):.2g}"


def _reading(text: str, genres: tuple[str, ...], words: bool) -> Reading | None:
    """What a phrase stands for: a genre, a thesaurus word, a mood or a tagger word."""
    genre = genre_of(text, genres)
    if genre is not None:
        return ((thesaurus.Term("genre", genre), 1.0),), "genre", ""
    if not words:
        return None
    entry = thesaurus.find(text)
    if entry is not None:
        # a word may name a genre this index's model does not score (Horror's Thriller on an
        # index of emotify's tags): that part is left out and said, the rest answers
        kept = tuple((t, w) for t, w in entry.maps if t.kind != "genre" or t.name in genres)
        missing = [t.name for t, _ in entry.maps if t.kind == "genre" and t.name not in genres]
        if not kept:
            raise QueryError(f"{text!r} stands for {entry.mapping_text()}: genres this index's "
                             f"model does not score (it scores {', '.join(genres)})")
        note = f"{', '.join(missing)}: not a genre of this index" if missing else ""
        return kept, entry.group, note
    term = thesaurus.base_term(text)
    if term is None or term.kind == "genre":
        return None
    return ((term, 1.0),), ("mood" if term.kind == "mood" else "tagger word"), ""


def _unknown_error(unknown: list[str], genres: tuple[str, ...], words: bool) -> QueryError:
    hints = []
    names = [*vocabulary.words(), *(g.lower() for g in genres), *MOODS]
    for name in unknown:
        bare = name.lstrip("-+")
        if words:
            close = thesaurus.suggest(bare, names)
            meaning = thesaurus.by_meaning(close)
            hint = f" (did you mean {', '.join(map(repr, close))}?" if close else " ("
            hint += (f"{' ' if close else ''}same meaning: {', '.join(meaning)})" if meaning
                     else (")" if close else ""))
            hint = "" if hint == " (" else hint
        else:
            close = [g for g in genres if g.lower().startswith(bare.lower()[:3])]
            hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
        hints.append(f"{name!r}{hint}")
    known = (f"the genres {', '.join(genres)}, the moods, the words of a brief and the "
             "taggers' words (`filmgenre search --vocabulary` lists them)") if words else (
             f"valid genres: {', '.join(genres)}")  # fmt: skip
    kind = "word(s)" if words else "genre(s)"
    return QueryError(f"unknown {kind} {', '.join(hints)}; {known}")


def parse_query(text: str, genres: tuple[str, ...] = GENRES, words: bool = True) -> Mix:
    """Genre, mood and word weights of a query (see the module docstring); ``words=False``
    takes genres only. Raises :class:`QueryError` in words."""
    text = (text or "").strip()
    mix = Mix()
    if not text:
        return mix
    unknown: list[str] = []
    longest = max(vocabulary.MAX_WORDS, thesaurus.default().max_words)

    def add(typed: str, found: Reading, weight: float) -> None:
        terms, means, note = found
        norm = sum(abs(w) for _, w in terms)
        shown = []
        for term, w in terms:
            share = weight * w / norm
            target = {"genre": mix.genres, "mood": mix.moods, "tag": mix.words}[term.kind]
            target[term.name] = target.get(term.name, 0.0) + share
            shown.append(_describe(term, share / abs(weight) if weight else share))
        sign = "-" if weight < 0 else ""
        read = (", ".join(shown) if means != "genre" else "genre") + (f" ({note})" if note else "")
        mix.readings.append((f"{sign}{typed}", read))

    if "=" in text:
        for part in filter(None, (p.strip() for p in re.split(r"[,;]", text))):
            name, sep, value = part.partition("=")
            if not sep:
                example = ("Romance=1,piano=0.5) or none (Romance piano -vocals)" if words
                           else "Romance=1,Comedy=0.5) or none (Romance Comedy -Thriller)")
                raise QueryError(f"{part!r}: give every term a weight ({example}")
            weight = _weight(part, value)
            found = _reading(name.strip(), genres, words)
            if found is None:
                unknown.append(name.strip())
            elif weight != 0:
                add(name.strip(), found, weight)
    else:
        tokens = [t for t in re.split(r"[\s,+/&]+", text) if t]
        i = 0
        while i < len(tokens):
            sign = -1.0 if tokens[i].startswith("-") else 1.0
            first = tokens[i].lstrip("-+")
            if first.lower() in ("not", "no", "without") and i + 1 < len(tokens) and (
                    _reading(" ".join([first, tokens[i + 1]]), genres, words) is None):
                sign, i, first = -sign, i + 1, tokens[i + 1].lstrip("-+")
            for size in range(min(longest, len(tokens) - i), 0, -1):
                phrase = " ".join([first, *tokens[i + 1 : i + size]])
                found = _reading(phrase, genres, words) if phrase else None
                if found is not None:
                    add(phrase, found, sign)
                    i += size
                    break
            else:
                if words and thesaurus.key(first) in thesaurus.STOP_WORDS:
                    mix.ignored.append(first)
                else:
                    unknown.append(tokens[i])
                i += 1
    if unknown:
        raise _unknown_error(unknown, genres, words)
    for weights in (mix.genres, mix.moods, mix.words):
        for name in [n for n, w in weights.items() if abs(w) < 1e-12]:
            del weights[name]
    if not mix and mix.readings:
        raise QueryError("the weights cancel out: name at least one genre, mood or word with a "
                         "weight other than 0")  # fmt: skip
    if not mix:
        raise QueryError(f"nothing to search by: {', '.join(map(repr, mix.ignored))} carry no "
                         "meaning for search; name a genre, a mood or a word")  # fmt: skip
    return mix


def _weight(part: str, value: str) -> float:
    try:
        weight = float(value)
    except ValueError:
        raise QueryError(f"{part!r}: the weight {value.strip()!r} is not a number") from None
    if not math.isfinite(weight):
        raise QueryError(f"{part!r}: the weight must be a finite number")
    return weight


def parse_mix(text: str, genres: tuple[str, ...] = GENRES) -> dict[str, float]:
    """Genre weights of a query of genres only (raises :class:`QueryError` on any other
    word, naming it and the valid genres)."""
    if not (text or "").strip():
        return {}
    return parse_query(text, genres, words=False).genres


def parse_range(text: str | None, what: str) -> tuple[float | None, float | None]:
    """``"90-120"``, ``"90-"`` or ``"-120"`` as (low, high); raises QueryError."""
    if text is None or str(text).strip() == "":
        return None, None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)?\s*-\s*(\d+(?:\.\d+)?)?\s*", str(text))
    if not match or match.groups() == (None, None):
        raise QueryError(f"{what} {text!r}: give a range such as 90-120, 90- or -120")
    low, high = (float(g) if g is not None else None for g in match.groups())
    if low is not None and high is not None and low > high:
        raise QueryError(f"{what} {text!r}: the low end is above the high end")
    return low, high




def parse_key(text: str | None, what: str = "--key") -> tuple[int | None, str | None]:
    """(tonic 0..11 or None, mode or None) of "A minor", "F#", "Bb major", "minor" ...;
    raises QueryError."""
    if text is None or not str(text).strip():
        return None, None
    try:
        return vocabulary.parse_key(str(text))
    except ValueError as error:
        raise QueryError(f"{what} {error}") from None
