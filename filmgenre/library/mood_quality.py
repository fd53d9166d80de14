"""Whether the words of a brief find the right music, measured as search calls them: each
word parsed by the query language, its mapping ranked over an index whose every track was
scored by a mood model that never saw it, the top of the list checked against listeners.

- **Emotion words on emotify**: a clip is right for ``calm`` when at least 30% of its
  listeners chose calmness (GEMS), and so on for each emotion's words; the clips' moods are
  the nested cross-validation's out-of-fold outputs (:func:`filmgenre.evaluation.moods.
  figures.study`), their tags the taggers' own (which never saw a label). The style words
  (classical, electronic, pop, rock) are checked on emotify's genres beside them: the
  taggers answer those, and the moods must not disturb them.
- **Valence and arousal words on filmscore**: ``dark`` is right for the cues whose
  listeners' mean valence is in the lowest third, ``bright`` the highest, ``energetic`` and
  ``subdued`` the same for arousal; also the rank correlation of the word's score with the
  listeners' mean, beside the listeners' own split-half agreement. The cues' valence and
  arousal are out of fold by film.

Per word: right clips (base rate), precision@10 and average precision with 95% intervals
from resamples of clips or films (the library resampled, every query ranked again), and
the same for a random order. ``AIM_WORDS`` are the five words the issue set an aim for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data.moods import MOODS
from ..genres import GENRES
from .quality import ranking_metrics
from .query import parse_query
from .search import log_query
from .snapshot import Snapshot

#: emotion words measured on emotify: word -> the GEMS emotion that makes a clip right
EMOTION_WORDS = {
    "calm": "calmness", "tense": "tension", "sad": "sadness", "happy": "joyful_activation",
    "powerful": "power", "tender": "tenderness", "nostalgic": "nostalgia",
    "solemn": "solemnity", "wonder": "amazement", "peaceful": "calmness",
    "suspense": "tension", "melancholic": "sadness", "uplifting": "joyful_activation",
    "epic": "power", "intimate": "tenderness",
}  # fmt: skip
#: the words the aim of mean precision@10 >= 0.85 is stated for
AIM_WORDS = ("calm", "tense", "sad", "happy", "powerful")
#: style words measured on emotify's own genres (the taggers' words)
STYLE_WORDS = ("classical", "electronic", "pop", "rock")
#: valence and arousal words measured on filmscore: word -> (dimension, direction)
VA_WORDS = {"dark": ("valence", -1), "bright": ("valence", 1), "energetic": ("arousal", 1),
            "subdued": ("arousal", -1)}  # fmt: skip


def tags_of(blocks: dict[str, np.ndarray]) -> np.ndarray:
    """The index's 100 tag columns (MTT's 50 means, then MSD's) from cue-vector parts."""
    return np.hstack([blocks[f"musicnn:{m}:taggram"][:, :50]
                      for m in ("MTT_musicnn", "MSD_musicnn")]).astype(np.float16)  # fmt: skip


def library(tags: np.ndarray, moods: np.ndarray) -> Snapshot:
    """An index in memory holding tags and moods only (no genre scores, no vectors)."""
    n = len(tags)
    return Snapshot(generation=0, genres=GENRES, ids=np.arange(n), scores=np.zeros(
        (n, len(GENRES)), np.float32), vectors=np.zeros((n, 0), np.float32),
        durations=np.zeros(n, np.float32), tempi=np.zeros(n, np.float32), model={},
        tags=np.asarray(tags, np.float16), moods=np.asarray(moods, np.float16))  # fmt: skip


def _rows(snap: Snapshot, rows: np.ndarray) -> Snapshot:
    return library(snap.tags[rows], snap.moods[rows])


def _word_rows(snap: Snapshot, words: dict[str, np.ndarray], groups: np.ndarray,
               n_boot: int, seed: int) -> list[dict]:  # fmt: skip
    """Per word: the right rows' count, P@10 and AP of the search and of a random order,
    with intervals from ``n_boot`` resamples of ``groups``."""
    from ..evaluation.metrics import film_resamples, interval

    resamples = film_resamples(groups, n_boot, seed)
    rng = np.random.default_rng(seed)
    out = []
    for word, right in words.items():
        mix = parse_query(word)
        point = ranking_metrics(log_query(snap, mix), right)
        boots = np.array([ranking_metrics(log_query(_rows(snap, r), mix), right[r])
                          for r in resamples])  # fmt: skip
        randoms = np.array([ranking_metrics(rng.random(len(right)), right)
                            for _ in range(200 if right.any() else 1)])  # fmt: skip
        row = {"word": word, "read as": mix.explain().split(" = ", 1)[-1],
               "right": int(right.sum()), "of": len(right)}  # fmt: skip
        for i, metric in enumerate(("P@10", "AP")):
            row[metric] = round(point[i], 3)
            row[f"{metric} 95%"] = [round(v, 3) for v in interval(boots[:, i])]
            row[f"{metric} random"] = round(float(randoms[:, i].mean()), 3)
        out.append(row)
    return out


def emotify_rows(keys: list[str], labels: np.ndarray, genres: list[str], tags: np.ndarray,
                 moods: np.ndarray, n_boot: int = 500, seed: int = 0) -> list[dict]:  # fmt: skip
    """The emotion and style words on emotify (module docstring). ``labels``: the GEMS
    emotions chosen by 30% of listeners (clips x 9); ``genres``: each clip's genre."""
    from ..data.moods import EMOTIONS

    snap = library(tags, moods)
    truth = {w: labels[:, EMOTIONS.index(e)].astype(bool) for w, e in EMOTION_WORDS.items()}
    truth.update({w: np.asarray(genres) == w for w in STYLE_WORDS})
    return _word_rows(snap, truth, np.asarray(keys), n_boot, seed)


def filmscore_rows(groups: np.ndarray, listeners: np.ndarray, tags: np.ndarray,
                   moods: np.ndarray, n_boot: int = 500, seed: int = 0) -> list[dict]:  # fmt: skip
    """The valence and arousal words on filmscore: P@10 and AP against the listeners'
    lowest or highest third, and the Spearman correlation of each word's score with the
    listeners' mean (signed: ``dark`` should follow low valence), with film intervals."""
    from scipy.stats import spearmanr

    from ..evaluation.metrics import film_resamples, interval

    snap = library(tags, moods)
    truth, signed = {}, {}
    for word, (dimension, direction) in VA_WORDS.items():
        values = listeners[:, ("valence", "arousal").index(dimension)] * direction
        truth[word] = values >= np.quantile(values, 2 / 3)
        signed[word] = values
    rows = _word_rows(snap, truth, groups, n_boot, seed)
    resamples = film_resamples(groups, n_boot, seed)
    for row in rows:
        score = log_query(snap, parse_query(row["word"]))
        truth_values = signed[row["word"]]
        row["Spearman"] = round(float(spearmanr(score, truth_values)[0]), 3)
        row["Spearman 95%"] = [round(v, 3) for v in interval(np.array(
            [spearmanr(score[r], truth_values[r])[0] for r in resamples]))]  # fmt: skip
    return rows


def report(gems, va, figures: dict, n_boot: int = 500, seed: int = 0) -> dict:
    """The whole measurement: ``gems`` and ``va`` the collections
    (:class:`~filmgenre.evaluation.moods.study.MoodData`), ``figures`` the nested study
    that scored them out of fold."""
    oof = figures["oof"]
    if oof["gems"]["keys"] != gems.keys or oof["valence-arousal"]["keys"] != va.keys:
        raise ValueError("the figures' out-of-fold moods are of other clips or cues than the "
                         "collections given: run the study on these collections")  # fmt: skip
    genres = [k.split("/")[0] for k in gems.keys]
    words = emotify_rows(gems.keys, gems.labels, genres, tags_of(gems.blocks),
                         np.asarray(oof["gems"]["moods"], float), n_boot, seed)  # fmt: skip
    va_words = filmscore_rows(va.groups, va.targets, tags_of(va.blocks),
                              np.asarray(oof["valence-arousal"]["moods"], float), n_boot, seed)
    aims = [r for r in words if r["word"] in AIM_WORDS]
    ceilings = {r["dimension"]: r for r in figures["valence_arousal"]}
    return {"emotify": words, "filmscore": va_words,
            "aim words mean P@10": round(float(np.mean([r["P@10"] for r in aims])), 3),
            "aim words mean random P@10": round(float(np.mean([r["P@10 random"]
                                                               for r in aims])), 3),
            "listeners' split-half": {d: ceilings[d]["listeners' split-half Spearman"]
                                      for d in ceilings},
            "n_boot": n_boot, "moods": list(MOODS)}  # fmt: skip


def _with(value: float, ci: list[float]) -> str:
    return f"{value:.3f} [{ci[0]:.3f}, {ci[1]:.3f}]"


def tables(found: dict) -> dict[str, pd.DataFrame]:
    """The measurement as a person reads it."""
    def frame(rows: list[dict], extra: tuple[str, ...] = ()) -> pd.DataFrame:
        return pd.DataFrame([{
            "word": r["word"], "read as": r["read as"], "right": f"{r['right']}/{r['of']}",
            "P@10": _with(r["P@10"], r["P@10 95%"]), "random P@10": r["P@10 random"],
            "AP": _with(r["AP"], r["AP 95%"]), "random AP": r["AP random"],
            **{k: _with(r[k], r[f"{k} 95%"]) for k in extra}} for r in rows]).set_index("word")

    return {"emotion and style words (emotify, clips scored out of fold)": frame(found["emotify"]),
            "valence and arousal words (filmscore, cues scored out of fold by film)":
                frame(found["filmscore"], ("Spearman",))}  # fmt: skip


def describe(found: dict) -> str:
    """The tables, the aim words' mean and the listeners' agreement, as text."""
    shown = tables(found)
    ceiling = ", ".join(f"{d} {v:.3f}" for d, v in found["listeners' split-half"].items())
    return "\n\n".join([f"{name}\n{frame.to_string()}" for name, frame in shown.items()] + [
        f"mean precision@10 over {', '.join(AIM_WORDS)}: {found['aim words mean P@10']:.3f} "
        f"(random {found['aim words mean random P@10']:.3f}); listeners' own split-half "
        f"Spearman: {ceiling}"]) + "\n"  # fmt: skip
