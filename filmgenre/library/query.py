"""The query language of a library's search: genres and the musicnn taggers' words
(:mod:`.vocabulary`) with weights, negatives included; ranges and keys for the filters.

- ``"Romance piano -vocals -sad"``: every named genre or word weight 1, a leading ``-``
  weight -1; ``not``/``no`` before a word negates it too (``"no vocals"`` is itself a word);
  phrases of up to three words are read whole (``"female vocal"``, ``"easy listening"``);
- ``"Thriller=1,strings=1,loud=0.5,happy=-1"``: explicit weights (any real number; 0
  ignores);
- genre names as elsewhere in filmgenre (case, spacing, ``SciFi``/``Science Fiction``);
  an unknown word is an error that says which close words exist.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..config import GENRES
from . import vocabulary

#: spelling variants of genre names (a query must not need the exact label)
_ALIASES = {"scifi": "Sci-Fi", "sciencefiction": "Sci-Fi", "sf": "Sci-Fi", "romantic": "Romance",
            "comedic": "Comedy", "musicals": "Musical", "thrillers": "Thriller"}  # fmt: skip



class QueryError(ValueError):
    """A query that cannot be run, with what is wrong in words (the page answers 400)."""


def _squash(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def genre_name(word: str, genres: tuple[str, ...]) -> str | None:
    """The genre of ``genres`` a word names, or None."""
    key = _squash(word)
    for g in genres:
        if _squash(g) == key:
            return g
    alias = _ALIASES.get(key)
    return alias if alias in genres else None


@dataclass
class Mix:
    """A parsed query: weights of genres and of vocabulary words (by word name)."""

    genres: dict[str, float] = field(default_factory=dict)
    words: dict[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.genres or self.words)

    def terms(self) -> list[str]:
        return [*self.genres, *self.words]


def _weight(part: str, value: str) -> float:
    try:
        weight = float(value)
    except ValueError:
        raise QueryError(f"{part!r}: the weight {value.strip()!r} is not a number") from None
    if not math.isfinite(weight):
        raise QueryError(f"{part!r}: the weight must be a finite number")
    return weight


def _name(text: str, genres: tuple[str, ...], words: bool) -> tuple[str, str] | None:
    """("genre", name) or ("word", name) of a phrase, or None."""
    genre = genre_name(text, genres) or genre_name(text.replace(" ", ""), genres)
    if genre is not None:
        return "genre", genre
    word = vocabulary.find(text) if words else None
    return ("word", word.name) if word is not None else None


def _unknown_error(unknown: list[str], genres: tuple[str, ...], words: bool) -> QueryError:
    hints = []
    for name in unknown:
        close = vocabulary.suggest(name.lstrip("-+"), genres) if words else [
            g for g in genres if g.lower().startswith(name.lstrip("-+").lower()[:3])]
        hints.append(f"{name!r}" + (f" (did you mean {', '.join(map(repr, close))}?)"
                                     if close else ""))  # fmt: skip
    known = (f"the genres {', '.join(genres)} and the taggers' words (`filmgenre search "
             "--vocabulary` lists them)") if words else f"valid genres: {', '.join(genres)}"
    kind = "word(s)" if words else "genre(s)"
    return QueryError(f"unknown {kind} {', '.join(hints)}; {known}")


def parse_query(text: str, genres: tuple[str, ...] = GENRES, words: bool = True) -> Mix:
    """Genre and word weights of a query (see the module docstring); ``words=False`` takes
    genres only (an index without tag scores). Raises :class:`QueryError` in words."""
    text = (text or "").strip()
    mix = Mix()
    if not text:
        return mix
    unknown: list[str] = []

    def add(found: tuple[str, str], weight: float) -> None:
        target = mix.genres if found[0] == "genre" else mix.words
        target[found[1]] = target.get(found[1], 0.0) + weight

    if "=" in text:
        for part in filter(None, (p.strip() for p in re.split(r"[,;]", text))):
            name, sep, value = part.partition("=")
            if not sep:
                example = ("Romance=1,piano=0.5) or none (Romance piano -vocals)" if words
                           else "Romance=1,Comedy=0.5) or none (Romance Comedy -Thriller)")
                raise QueryError(f"{part!r}: give every term a weight ({example}")
            weight = _weight(part, value)
            found = _name(name.strip(), genres, words)
            if found is None:
                unknown.append(name.strip())
            else:
                add(found, weight)
    else:
        tokens = [t for t in re.split(r"[\s,+/&]+", text) if t]
        i = 0
        while i < len(tokens):
            sign = -1.0 if tokens[i].startswith("-") else 1.0
            first = tokens[i].lstrip("-+")
            if first.lower() in ("not", "no", "without") and i + 1 < len(tokens) and (
                    _name(" ".join([first, tokens[i + 1]]), genres, words) is None):
                sign, i, first = -sign, i + 1, tokens[i + 1].lstrip("-+")
            for size in range(min(vocabulary.MAX_WORDS, len(tokens) - i), 0, -1):
                phrase = " ".join([first, *tokens[i + 1 : i + size]])
                found = _name(phrase, genres, words) if phrase else None
                if found is not None:
                    add(found, sign)
                    i += size
                    break
            else:
                unknown.append(tokens[i])
                i += 1
    if unknown:
        raise _unknown_error(unknown, genres, words)
    mix.genres = {g: w for g, w in mix.genres.items() if w != 0}
    mix.words = {g: w for g, w in mix.words.items() if w != 0}
    if not mix:
        raise QueryError("the weights cancel out: name at least one genre or word with a "
                         "weight other than 0")  # fmt: skip
    return mix


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
