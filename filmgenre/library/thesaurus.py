"""The words of a brief (``thesaurus.toml`` beside this module): each word people type in a
production-music brief (calm, suspense, epic, dark, Horror, under dialogue ...) mapped with
weights onto the base vocabulary an index knows: the genre model's genres, the mood model's
moods (:data:`filmgenre.data.emotions.MOODS`) and the taggers' words (:mod:`.vocabulary`).

The file is data: it is read and checked once, and a mapping that names anything the base
vocabulary lacks, a word listed twice or a word that hides a genre is an error naming the
entry (tests/library/test_thesaurus.py loads it, so a bad entry fails a test, not a user). A word
that is also a tagger's word (happy, sad, soft, sexy) means the thesaurus' mapping; the
tagger's own word stays reachable as ``tag:<word>``.

Model-free, standard library only: the search path reads it.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ..data.moods import EMOTIONS, MOODS
from ..genres import GENRES
from . import vocabulary

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser as a package
    import tomli as tomllib

FILE = Path(__file__).with_name("thesaurus.toml")

#: words of a brief that carry no meaning for search; a query ignores them and says so
STOP_WORDS = frozenset({
    "a", "an", "the", "with", "and", "or", "for", "of", "some", "music", "track", "tracks",
    "cue", "cues", "song", "songs", "piece", "feel", "feeling", "vibe", "vibes", "mood",
    "moods", "sound", "sounds", "sounding", "style", "very", "quite", "bit", "little", "in",
    "on", "to", "that", "is", "kind", "sort", "something", "somewhat", "slightly", "really",
    "but", "score", "scene", "please", "need", "needs", "want", "looking", "like", "ish",
})  # fmt: skip

#: the tagger words a thesaurus word may hide (the tagger's own stays as ``tag:<word>``)
SHADOWED_TAGS = frozenset({"happy", "sad", "soft", "sexy"})


class ThesaurusError(ValueError):
    """An entry of the thesaurus file that cannot be used, named with what is wrong."""


@dataclass(frozen=True)
class Term:
    """A name of the base vocabulary: ``kind`` "genre", "mood" or "tag"."""

    kind: str
    name: str

    def label(self) -> str:
        return self.name if self.kind != "tag" else f"tag {self.name}"


@dataclass(frozen=True)
class Entry:
    """Words that mean one thing: their mapping onto base terms, and what they stand for."""

    group: str
    maps: tuple[tuple[Term, float], ...]
    means: str
    words: tuple[str, ...]

    def mapping_text(self) -> str:
        return ", ".join(f"{t.name}={w:g}" for t, w in self.maps)


def key(text: str) -> str:
    """How words are compared: lower case, single spaces."""
    return re.sub(r"\s+", " ", text.strip().lower())


def base_term(name: str) -> Term | None:
    """The base vocabulary's term a name in a mapping (or a query) names, or None: a genre
    (case and punctuation aside), a mood (``joyful activation`` or ``joyful_activation``),
    or a tagger word (``tag:happy`` for one a thesaurus word hides)."""
    squashed = re.sub(r"[^a-z0-9]", "", name.lower())
    for genre in GENRES:
        if re.sub(r"[^a-z0-9]", "", genre.lower()) == squashed:
            return Term("genre", genre)
    k = key(name).replace(" ", "_")
    if k in MOODS:
        return Term("mood", k)
    tagged = key(name)
    if tagged.startswith("tag:"):
        tagged = tagged[4:]
    word = vocabulary.find(tagged)
    return Term("tag", word.name) if word is not None else None


def _parse_maps(text: str, where: str) -> tuple[tuple[Term, float], ...]:
    out = []
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        name, sep, value = part.partition("=")
        term = base_term(name.strip()) if sep else None
        if term is None:
            raise ThesaurusError(f"{where}: {part!r} names nothing the index knows (a genre, "
                                 "a mood or a tagger's word, as name=weight)")  # fmt: skip
        try:
            weight = float(value)
        except ValueError:
            raise ThesaurusError(f"{where}: {part!r}: the weight is not a number") from None
        if weight == 0:
            raise ThesaurusError(f"{where}: {part!r}: a weight of 0 maps onto nothing")
        out.append((term, weight))
    if not out:
        raise ThesaurusError(f"{where}: an empty mapping")
    return tuple(out)


@dataclass(frozen=True)
class Thesaurus:
    """The loaded file: entries by word, the groups' meanings and relations."""

    by_word: dict[str, Entry]
    groups: dict[str, dict]

    @property
    def max_words(self) -> int:
        return max(len(w.split()) for w in self.by_word)

    def group_words(self, group: str, n: int = 6) -> list[str]:
        """The first ``n`` words of a group (its plainest, as the file lists them)."""
        seen = [w for w, e in self.by_word.items() if e.group == group]
        return seen[:n]


def load(path: Path = FILE) -> Thesaurus:
    """Read and check a thesaurus file (see the module docstring); raises ThesaurusError."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    groups = data.get("groups", {})
    by_word: dict[str, Entry] = {}
    for i, raw in enumerate(data.get("entry", []), start=1):
        where = f"{path.name} entry {i} ({', '.join(raw.get('words', [])[:2])} ...)"
        group = raw.get("group")
        if group not in groups:
            raise ThesaurusError(f"{where}: group {group!r} is not one of [groups]")
        if not raw.get("means"):
            raise ThesaurusError(f"{where}: no 'means' (say what the words stand for)")
        entry = Entry(group, _parse_maps(raw.get("maps", ""), where), raw["means"],
                      tuple(key(w) for w in raw.get("words", [])))  # fmt: skip
        for word in entry.words:
            if word in by_word:
                raise ThesaurusError(f"{where}: {word!r} is listed twice")
            hidden = base_term(word)
            if hidden is not None and hidden.kind in ("genre", "mood"):
                raise ThesaurusError(f"{where}: {word!r} is the {hidden.kind} {hidden.name}")
            if hidden is not None and hidden.kind == "tag" and word not in SHADOWED_TAGS:
                raise ThesaurusError(f"{where}: {word!r} hides the tagger's word "
                                     f"{hidden.name!r} (add it to SHADOWED_TAGS if meant)")
            by_word[word] = entry
    for name, group in groups.items():
        for other in group.get("related", []):
            if other not in groups:
                raise ThesaurusError(f"{path.name}: group {name!r} relates to unknown {other!r}")
    return Thesaurus(by_word, groups)


@lru_cache(maxsize=1)
def default() -> Thesaurus:
    """The package's thesaurus, loaded once."""
    return load()


def find(text: str) -> Entry | None:
    """The entry of a word or phrase, or None."""
    return default().by_word.get(key(text))


def _stem(word: str) -> str:
    word = key(word).replace("-", " ")
    for suffix in ("fulness", "ingly", "ness", "fully", "ally", "ful", "ing", "ity", "ly", "ed",
                   "er", "ic", "al", "y", "s", "e"):  # fmt: skip
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def suggest(text: str, names: list[str], n: int = 3) -> list[str]:
    """Words of the thesaurus and of ``names`` (the rest of the vocabulary) close to an
    unknown one: the same stem (``frightened`` -> frightening), then close spellings."""
    k = key(text)
    words = list(default().by_word)
    stem = _stem(k)
    out = [w for w in words + names if _stem(w) == stem and w != k]
    out += difflib.get_close_matches(k, words + names, n=n * 2, cutoff=0.72)
    return list(dict.fromkeys(out))[:n]


def by_meaning(words: list[str], n: int = 5) -> list[str]:
    """Words meaning what ``words`` (thesaurus words) mean: others of their entries, of
    their groups, then of the groups related to those."""
    th = default()
    entries = [th.by_word[key(w)] for w in words if key(w) in th.by_word]
    groups = list(dict.fromkeys(e.group for e in entries))
    related = [r for g in groups for r in th.groups[g].get("related", [])]
    out: list[str] = []
    for candidates in ([list(e.words) for e in entries]
                       + [th.group_words(g) for g in dict.fromkeys(groups + related)]):
        out += [w for w in candidates if w not in words and w not in out][:2]
    return out[:n]


def table() -> list[dict]:
    """Every word of the thesaurus: its group, what it stands for and its mapping."""
    return [{"word": w, "source": f"thesaurus ({e.group})", "means": e.means,
             "maps": e.mapping_text()} for w, e in default().by_word.items()]  # fmt: skip


def mood_rows() -> list[dict]:
    """The mood model's moods as words of the vocabulary."""
    from ..data.moods import MEANINGS

    return [{"word": m, "source": "the mood model" + (" (GEMS, emotify)" if m in EMOTIONS
                                                      else " (valence-arousal, FME-24)"),
             "means": MEANINGS[m]} for m in MOODS]  # fmt: skip


def vocabulary_table(genres: tuple[str, ...] = GENRES) -> list[dict]:
    """Every word a query may use, where it comes from and what it stands for: the genres,
    the moods, the thesaurus, then the taggers' words (``tag:WORD`` where the thesaurus
    uses the word)."""
    rows = vocabulary.table(genres)
    tags = rows[len(genres):]
    for row in tags:
        if row["word"] in SHADOWED_TAGS:
            row["word"] = f"tag:{row['word']}"
    return rows[: len(genres)] + mood_rows() + table() + tags
