"""Whether search finds the right music, measured on a labelled collection with film-grouped
cross-validation: an index whose every film was scored by models that never saw it.

- **Genre queries**: every query of four kinds (one wanted genre, two, three, one wanted
  and one unwanted) with at least ``min_relevant`` right cues; a hit is right when its
  film's genres hold every wanted genre and no unwanted one. Per kind: the number of
  queries, precision@10, mean average precision and nDCG@10 (binary gains), averaged over
  queries, with 95% intervals from bootstrap resamples of films (the library resampled,
  every query ranked again). Rows: each way of ranking a mix (:data:`snapshot.RANKINGS`) on
  the family's scores, the MFCC + logistic-regression anchor's scores ranked the current
  way, and random ranking.
- **More like this**: each cue's 10 nearest other cues (its own track's other excerpt left
  out): whether the same film's other track is among them, and how far their genre sets
  agree with its own (Jaccard), against random cues; for the similarity space of
  :mod:`.similarity` (its settings chosen inside each training fold) and the PCA vectors
  the index used before.

The scores an index holds are calibrated: here one Platt map per genre fitted on every
out-of-fold score, as the shipped model's is (a monotone map: it leaves each genre's
ranking as it is and sets how genres combine in a mix). Which ranking serves mixes best is
chosen inside each outer fold, on inner out-of-fold scores of its training films only;
the folds' choices are reported, and the figures above are every candidate's own.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .similarity import choose, fit, neighbour_quality
from .snapshot import RANKINGS, fit_columns

QUERY_KINDS = ("one wanted", "two wanted", "three wanted", "wanted + unwanted")


@dataclass(frozen=True)
class Query:
    """Genres wanted and unwanted (indices into the collection's genres)."""

    wanted: tuple[int, ...]
    unwanted: tuple[int, ...] = ()

    @property
    def kind(self) -> str:
        if self.unwanted:
            return "wanted + unwanted"
        return QUERY_KINDS[len(self.wanted) - 1]

    def relevant(self, labels: np.ndarray) -> np.ndarray:
        right = np.all(labels[:, list(self.wanted)], axis=1)
        if self.unwanted:
            right &= ~np.any(labels[:, list(self.unwanted)], axis=1)
        return right

    def text(self, genres: tuple[str, ...]) -> str:
        return " ".join([genres[j] for j in self.wanted] + [f"-{genres[j]}" for j in self.unwanted])


def query_set(labels: np.ndarray, min_relevant: int = 5) -> list[Query]:
    """Every query of the four kinds with at least ``min_relevant`` right cues."""
    n = labels.shape[1]
    candidates = [Query(c) for size in (1, 2, 3) for c in itertools.combinations(range(n), size)]
    candidates += [Query((a,), (b,)) for a, b in itertools.permutations(range(n), 2)]
    return [q for q in candidates if q.relevant(labels).sum() >= min_relevant]


def mix_scores(scores: np.ndarray, query: Query, ranking: str = "fit",
               columns: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:  # fmt: skip
    """A query's log-fit for every row of ``scores``, as ``search`` ranks an index."""
    log_p, log_q = columns if columns is not None else fit_columns(scores, ranking)
    parts = [log_p[:, j] for j in query.wanted] + [log_q[:, j] for j in query.unwanted]
    return np.mean(parts, axis=0)


def ranking_metrics(score: np.ndarray, relevant: np.ndarray, k: int = 10
                    ) -> tuple[float, float, float]:  # fmt: skip
    """(precision@k, average precision, nDCG@k) of ranking by ``score`` (ties: first row
    first); NaN where nothing is relevant."""
    if not relevant.any():
        return np.nan, np.nan, np.nan
    hits = relevant[np.argsort(-score, kind="stable")]
    ranks = np.flatnonzero(hits) + 1
    ap = float(np.mean(np.arange(1, len(ranks) + 1) / ranks))
    gains = 1 / np.log2(np.arange(2, k + 2))
    ideal = gains[: min(k, int(relevant.sum()))].sum()
    return float(hits[:k].mean()), ap, float((hits[:k] * gains[: len(hits[:k])]).sum() / ideal)


def _kind_means(scores_by_query: list[np.ndarray], queries: list[Query], labels: np.ndarray,
                rows: np.ndarray | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """Mean (P@10, AP, nDCG@10) per query kind, over the library's ``rows`` (default all)."""
    out: dict[str, list] = {}
    for score, query in zip(scores_by_query, queries, strict=True):
        s, lab = (score, labels) if rows is None else (score[rows], labels[rows])
        values = ranking_metrics(s, query.relevant(lab))
        if not np.isnan(values[0]):
            out.setdefault(query.kind, []).append(values)
    return {kind: np.mean(v, axis=0) for kind, v in out.items()}


def _film_resamples(film: np.ndarray, n_boot: int, seed: int) -> list[np.ndarray]:
    """Row indices of ``n_boot`` libraries made of films drawn with replacement."""
    names, where = np.unique(film, return_inverse=True)
    members = [np.flatnonzero(where == i) for i in range(len(names))]
    rng = np.random.default_rng(seed)
    return [np.concatenate([members[i] for i in rng.integers(len(names), size=len(names))])
            for _ in range(n_boot)]  # fmt: skip


@dataclass
class OutOfFold:
    """A cross-validated index of a labelled collection: every cue's scores from models
    that never saw its film, and what "more like this" finds for it."""

    cues: pd.DataFrame
    genres: tuple[str, ...]
    labels: np.ndarray
    scores: np.ndarray  # the family's, calibrated (one map per genre)
    anchor: np.ndarray  # the MFCC + logistic regression anchor's, calibrated
    neighbours: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    choices: list[dict] = field(default_factory=list)


def _calibrated(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    from ..evaluation.calibration import fit_platt

    return fit_platt(labels.astype(float), scores).apply(scores)


def _fold_scores(family, x: np.ndarray, y: np.ndarray, group: np.ndarray, train: np.ndarray,
                 seed: int) -> np.ndarray:  # fmt: skip
    """Every cue's scores from the family fitted on the ``train`` cues."""
    from ..evaluation.crossval.heads import fit_head, predict_head, select_strength

    strength = select_strength(family, x[train], y[train], group[train], seed)
    return predict_head(fit_head(family.head, x[train], y[train], strength, seed), x)


def _inner_scores(family, x: np.ndarray, y: np.ndarray, group: np.ndarray, seed: int,
                  k: int = 4) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(out-of-fold scores, fold) of these (training) cues over ``k`` inner folds by group."""
    from ..evaluation.crossval.folds import assign_folds

    cues = pd.DataFrame({"film": group, **{str(j): y[:, j] for j in range(y.shape[1])}})
    inner = assign_folds(cues, tuple(str(j) for j in range(y.shape[1])), k, seed)
    raw = np.zeros(y.shape)
    for f in range(k):
        raw[inner == f] = _fold_scores(family, x, y, group, inner != f, seed)[inner == f]
    return raw, inner


def _best_ranking(scores: np.ndarray, labels: np.ndarray, min_relevant: int
                  ) -> tuple[str, dict]:  # fmt: skip
    """The ranking of :data:`RANKINGS` with the best mean precision@10 over the query kinds
    on these cues' (out-of-fold) scores."""
    calibrated = _calibrated(labels, scores)
    queries = query_set(labels, min_relevant)
    figures = {}
    for ranking in RANKINGS:
        columns = fit_columns(calibrated, ranking)
        means = _kind_means([mix_scores(calibrated, q, columns=columns) for q in queries],
                            queries, labels)  # fmt: skip
        figures[ranking] = float(np.mean([m[0] for m in means.values()]))
    return max(figures, key=figures.get), figures


def out_of_fold(manifest, family_name: str = "combined_meandiff", anchor: str = "mfcc_logreg",
                folds: int = 5, repeats: int = 1, seed: int = 0, min_relevant: int = 5,
                grid: dict | None = None, progress: bool | None = None) -> OutOfFold:  # fmt: skip
    """Score every cue of ``manifest`` out of fold (``folds`` by film, ``repeats`` times,
    scores averaged) with the family and the anchor; place every cue in a similarity space
    learned without its film (settings chosen inside the training films, ``grid``:
    :data:`.similarity.GRID`) and find its neighbours there and in the PCA vectors of
    before; choose the ranking of mixes inside each fold. The cue table needs a ``track``
    column (else each cue is its own track)."""
    from ..evaluation.crossval.folds import CVConfig, groups
    from ..evaluation.crossval.vectors import FAMILIES, cue_vectors

    family, anchor_family = FAMILIES[family_name], FAMILIES[anchor]
    cues = manifest.cues.reset_index(drop=True)
    genres = tuple(manifest.genres)
    y = cues[list(genres)].to_numpy(dtype=float)
    labels = y.astype(bool)
    film = cues["film"].astype(str).to_numpy()
    track = (cues["film"].astype(str) + "/" + (cues["track"].astype(str) if "track" in cues
                                               else cues["cue"].astype(str))).to_numpy()
    x = cue_vectors(manifest, family.parts, progress=progress)
    xa = cue_vectors(manifest, anchor_family.parts, progress=progress)
    group = groups(cues, "film")
    cv = CVConfig(k=folds, repeats=repeats, seed=seed, by="film")
    raw, raw_anchor = np.zeros(y.shape), np.zeros(y.shape)
    found: dict[str, list[dict]] = {"similarity space (learned)": []}
    choices = []
    for r, fold_of in enumerate(cv.fold_sets(cues, genres)):
        for f in range(folds):
            train, test = fold_of != f, fold_of == f
            scores = _fold_scores(family, x, y, group, train, seed)
            raw[test] += scores[test]
            raw_anchor[test] += _fold_scores(anchor_family, xa, y, group, train, seed)[test]
            inner, inner_fold = _inner_scores(family, x[train], y[train], group[train], seed)
            ranking, figures = _best_ranking(inner, labels[train], min_relevant)
            settings, _ = choose(x[train], film[train], inner, track[train], labels[train],
                                 inner_fold, grid)  # fmt: skip
            choices.append({"repeat": r, "fold": f, "ranking": ranking,
                            **{f"P@10 {k}": round(v, 3) for k, v in figures.items()},
                            **settings})  # fmt: skip
            v = fit(x[train], film[train], scores[train], **settings).vectors(x[test],
                                                                             scores[test])
            if f == 0:
                placed = np.zeros((len(cues), v.shape[1]), np.float32)
            placed[test] = v
        found["similarity space (learned)"].append(
            neighbour_quality(placed, film, track, labels, seed=seed))
    found["PCA of the model's input (before)"] = [
        neighbour_quality(_pca_vectors(x), film, track, labels, seed=seed)]
    with warnings.catch_warnings():  # NaN stays NaN: a cue whose film has one track
        warnings.simplefilter("ignore", RuntimeWarning)
        neighbours = {name: {key: np.nanmean([q[key] for q in runs], axis=0) if len(runs) > 1
                             else runs[0][key] for key in runs[0]}
                      for name, runs in found.items()}  # fmt: skip
    return OutOfFold(cues, genres, labels, _calibrated(labels, raw / repeats),
                     _calibrated(labels, raw_anchor / repeats), neighbours, choices)  # fmt: skip


def _pca_vectors(x: np.ndarray, dims: int = 64) -> np.ndarray:
    """The index's vectors before the similarity space: the cue vector standardised,
    centred on the library and reduced by a PCA fitted on it."""
    scale = x.std(0)
    z = (x - x.mean(0)) / np.where(scale < 1e-6, 1.0, scale)
    _, _, vt = np.linalg.svd(z, full_matrices=False)
    return z @ vt[: min(dims, len(z) - 1)].T


def _interval(values: list[float]) -> list[float]:
    return [round(float(np.nanpercentile(values, 2.5)), 3),
            round(float(np.nanpercentile(values, 97.5)), 3)]  # fmt: skip


def genre_query_table(oof: OutOfFold, min_relevant: int = 5, n_boot: int = 500,
                      seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """Per query kind and way of ranking: queries, P@10, MAP and nDCG@10 with film-bootstrap
    intervals (see the module docstring)."""
    queries = query_set(oof.labels, min_relevant)
    film = oof.cues["film"].astype(str).to_numpy()
    rows_of = _film_resamples(film, n_boot, seed)
    candidates = {f"{ranking} (the family's scores)": (oof.scores, ranking)
                  for ranking in RANKINGS}  # fmt: skip
    candidates["fit (the MFCC + logistic-regression anchor's scores)"] = (oof.anchor, "fit")
    rng = np.random.default_rng(seed)
    candidates["random ranking"] = (None, None)
    counts = pd.Series([q.kind for q in queries]).value_counts()
    out = []
    for name, (scores, ranking) in candidates.items():
        if scores is None:  # expected figures of random orders, averaged over 100 of them
            draws = [_kind_means([rng.random(len(film)) for _ in queries], queries, oof.labels)
                     for _ in range(100)]  # fmt: skip
            point = {k: np.mean([d[k] for d in draws if k in d], axis=0) for k in counts.index}
            boots = None
        else:
            by_query = [mix_scores(scores, q, ranking) for q in queries]
            point = _kind_means(by_query, queries, oof.labels)
            boots = [_kind_means(by_query, queries, oof.labels, rows) for rows in rows_of]
        for kind in QUERY_KINDS:
            if kind not in point:
                continue
            row = {"query kind": kind, "ranking": name, "queries": int(counts[kind])}
            for i, metric in enumerate(("P@10", "MAP", "nDCG@10")):
                row[metric] = round(float(point[kind][i]), 3)
                row[f"{metric} 95%"] = None if boots is None else _interval(
                    [b[kind][i] for b in boots if kind in b])  # fmt: skip
            out.append(row)
    return pd.DataFrame(out)


def neighbour_table(oof: OutOfFold, n_boot: int = 500, seed: int = 0) -> pd.DataFrame:
    """Per kind of similarity vector: the share of cues whose film's other track is among
    their 10 nearest, and the neighbours' genre agreement, with film-bootstrap intervals,
    beside random cues' agreement."""
    film = oof.cues["film"].astype(str).to_numpy()
    rows_of = _film_resamples(film, n_boot, seed)
    out = []
    for name, q in oof.neighbours.items():
        row = {"vectors": name}
        for key, label in (("same_film", "same film's other track in top 10"),
                           ("random_same_film", "random cues' rate"),
                           ("agreement", "genre agreement (Jaccard)"),
                           ("random_agreement", "random cues' agreement")):  # fmt: skip
            values = q[key]
            row[label] = round(float(np.nanmean(values)), 3)
            row[f"{label} 95%"] = _interval([np.nanmean(values[r]) for r in rows_of])
        lift = q["agreement"] - q["random_agreement"]
        row["agreement above random"] = round(float(np.mean(lift)), 3)
        row["agreement above random 95%"] = _interval([np.mean(lift[r]) for r in rows_of])
        row["cues with another track of their film"] = int(np.sum(~np.isnan(q["same_film"])))
        out.append(row)
    return pd.DataFrame(out)


def report(manifest, folds: int = 5, repeats: int = 1, n_boot: int = 500, seed: int = 0,
           min_relevant: int = 5, grid: dict | None = None, progress: bool | None = None
           ) -> dict:  # fmt: skip
    """The whole measurement as plain data (for notebook 09, the benchmark and the front
    page): genre-query and neighbour tables, the choices made inside the folds."""
    oof = out_of_fold(manifest, folds=folds, repeats=repeats, seed=seed,
                      min_relevant=min_relevant, grid=grid, progress=progress)  # fmt: skip
    choices = pd.DataFrame(oof.choices)
    return {
        "collection": {"films": int(oof.cues["film"].nunique()), "cues": len(oof.cues),
                       "genres": list(oof.genres), "folds": folds, "repeats": repeats,
                       "min_relevant": min_relevant, "n_boot": n_boot},
        "genre_queries": genre_query_table(oof, min_relevant, n_boot, seed).to_dict("records"),
        "more_like_this": neighbour_table(oof, n_boot, seed).to_dict("records"),
        "choices": choices.to_dict("records"),
        "ranking_chosen": choices["ranking"].value_counts().to_dict(),
    }  # fmt: skip


def _with_interval(value, interval) -> str:
    return f"{value:.3f}" if not interval else f"{value:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]"


def tables(figures: dict) -> dict[str, pd.DataFrame]:
    """The measurement's tables as a person reads them: each figure with its interval."""
    genre = pd.DataFrame([{
        "query kind": r["query kind"], "ranking": r["ranking"], "queries": r["queries"],
        **{m: _with_interval(r[m], r[f"{m} 95%"]) for m in ("P@10", "MAP", "nDCG@10")},
    } for r in figures["genre_queries"]])  # fmt: skip
    labels = ("same film's other track in top 10", "random cues' rate",
              "genre agreement (Jaccard)", "random cues' agreement", "agreement above random")
    similar = pd.DataFrame([{"vectors": r["vectors"],
                             **{k: _with_interval(r[k], r[f"{k} 95%"]) for k in labels}}
                            for r in figures["more_like_this"]])  # fmt: skip
    return {"genre queries": genre.set_index(["query kind", "ranking"]),
            "more like this": similar.set_index("vectors"),
            "choices inside the folds": pd.DataFrame(figures["choices"])}


def describe(figures: dict, name: str = "", seconds: float | None = None) -> str:
    """The measurement as text: the collection, both tables and the folds' choices."""
    c = figures["collection"]
    head = (f"search quality on {name or 'the collection'}: {c['films']} films, {c['cues']} "
            f"cues; {c['folds']} folds by film x {c['repeats']} repeat(s), queries with at "
            f"least {c['min_relevant']} right cues, 95% intervals from {c['n_boot']} film "
            "resamples" + (f"; {seconds:.0f} s" if seconds is not None else ""))  # fmt: skip
    shown = tables(figures)
    chosen = ", ".join(f"{k} {v}" for k, v in figures["ranking_chosen"].items())
    return "\n\n".join([head, shown["genre queries"].to_string(),
                        shown["more like this"].T.to_string(),
                        f"ranking of mixes chosen inside the folds: {chosen}",
                        shown["choices inside the folds"].to_string(index=False)]) + "\n"


def save(figures: dict, path) -> None:
    """Write the measurement as JSON (the run's front page reads ``library/quality.json``)."""
    import json
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(figures, indent=1, default=str))
