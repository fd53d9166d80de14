"""A run, evaluated: predictions on disk, result tables, the study's schema, the paired
questions and :func:`evaluate_run`, which writes a run's ``metrics.json`` (its schema is
here too). The metrics themselves are pure functions in :mod:`filmgenre.evaluation.metrics`.

Intervals resample *films* (every cue of a drawn film comes along), because cues
of one film share labels and sound: resampling cues would overstate certainty.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..genres import GENRES
from .metrics import (
    HEADLINE,
    choose_thresholds,
    f1_table,
    paired_difference,
    prior_scores,
    score_model,
)

# ----------------------------------------------------------------------------- predictions on disk


def split_predictions(
    frame: pd.DataFrame, genres: tuple[str, ...] = GENRES, split: str = "test"
) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """(truth, scores, rows) of one split from a ``predictions.csv`` frame."""
    rows = frame[frame["split"] == split].reset_index(drop=True)
    y = rows[[f"y_{g}" for g in genres]].to_numpy(dtype=int)
    s = rows[[f"p_{g}" for g in genres]].to_numpy(dtype=float)
    return y, s, rows


def load_run_predictions(run_dir: str | os.PathLike[str]) -> dict[str, pd.DataFrame]:
    """Every model's ``predictions.csv`` under ``run_dir/models``, by model name."""
    out = {}
    for path in sorted(Path(run_dir).glob("models/*/predictions.csv")):
        out[path.parent.name] = pd.read_csv(path, keep_default_na=False)
    return out


def results_table(scores: dict[str, dict]) -> pd.DataFrame:
    """One row per model: each headline metric as 'value [low, high]' plus cue/film counts."""
    rows = {}
    for name, sc in scores.items():
        row = {
            k: f"{sc['metrics'][k]:.3f} [{sc['ci95'][k][0]:.3f}, {sc['ci95'][k][1]:.3f}]"
            for k in HEADLINE
        }
        row["cues"] = sc["n_cues"]
        row["films"] = sc["n_films"]
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def per_genre_table(scores: dict[str, dict], column: str = "roc_auc") -> pd.DataFrame:
    """Genres x models of one per-genre metric, with the positives of the first model's set."""
    table = pd.DataFrame(
        {name: {r["genre"]: r[column] for r in sc["per_genre"]} for name, sc in scores.items()}
    )
    first = next(iter(scores.values()))
    table["positives"] = [r["positives"] for r in first["per_genre"]]
    return table


def per_genre_by_model(scores: dict[str, dict], column: str = "roc_auc") -> pd.DataFrame:
    """Models (rows, best macro ROC-AUC first) x genres of one per-genre metric, the test
    positives of each genre as the first row: long rather than wide, so a report shows
    every model without pandas eliding columns."""
    table = per_genre_table(scores, column)
    positives = table.pop("positives")
    order = sorted(scores, key=lambda n: -scores[n]["metrics"]["macro_roc_auc"])
    out = table[order].T
    return pd.concat([positives.to_frame("positives (test cues)").T, out])


def decisions_summary(decisions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Macro F1, precision and recall at validation-chosen thresholds, best F1 first."""
    return pd.DataFrame({
        k: {"macro_f1": t.f1.mean(), "macro_precision": t.precision.mean(),
            "macro_recall": t.recall.mean()}
        for k, t in decisions.items()
    }).T.sort_values("macro_f1", ascending=False)  # fmt: skip


def write_metrics(path: str | os.PathLike[str], payload: dict) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, default=float))
    return path


# ----------------------------------------------------------------------------- the study's schema


def load_study_predictions(
    path: str | os.PathLike[str], genres: tuple[str, ...] = GENRES
) -> pd.DataFrame:
    """Read predictions in the study's ``pooling_dict.json`` schema into a predictions frame.

    Records carry ``Film``, ``Cue``, ``Targets`` (booleans) and ``Predictions``
    (probabilities) in the order of ``genres`` (the study's: :data:`GENRES`).
    """
    records = json.loads(Path(path).read_text())
    rows = []
    for r in records:
        if len(r["Targets"]) != len(genres) or len(r["Predictions"]) != len(genres):
            raise ValueError(
                f"{path}: record for {r.get('Film')!r} does not have {len(genres)} genres"
            )
        row = {"film": str(r["Film"]), "cue": str(r["Cue"]), "split": "test"}
        row.update({f"y_{g}": int(bool(t)) for g, t in zip(genres, r["Targets"], strict=True)})
        row.update({f"p_{g}": float(p) for g, p in zip(genres, r["Predictions"], strict=True)})
        rows.append(row)
    return pd.DataFrame(rows)


def export_study_schema(
    predictions: pd.DataFrame,
    path: str | os.PathLike[str],
    split: str = "test",
    genres: tuple[str, ...] = GENRES,
) -> Path:
    """Write one split of our predictions in the study's schema, so one loader reads both."""
    y, s, rows = split_predictions(predictions, genres, split)
    records = [
        {
            "Film": f,
            "Cue": c,
            "Year": None,
            "Composer": None,
            "Targets": [bool(v) for v in yt],
            "Predictions": [float(v) for v in st],
        }
        for f, c, yt, st in zip(rows["film"], rows["cue"], y, s, strict=True)
    ]
    path = Path(path)
    path.write_text(json.dumps(records, indent=1))
    return path


def study_cooccurrence(path: str | os.PathLike[str]) -> np.ndarray:
    """Genre x genre film counts from the study's ``tag_sets.json`` (diagonal = genre counts)."""
    counts = np.zeros((len(GENRES), len(GENRES)), dtype=int)
    index = {g: i for i, g in enumerate(GENRES)}
    for entry in json.loads(Path(path).read_text()):
        sets = entry["sets"]
        if len(sets) == 1:
            counts[index[sets[0]], index[sets[0]]] = entry["size"]
        elif len(sets) == 2:
            a, b = index[sets[0]], index[sets[1]]
            counts[a, b] = counts[b, a] = entry["size"]
    return counts


def study_counts(genres: tuple[str, ...],
                 tag_sets: str | os.PathLike[str] | None = None) -> np.ndarray | None:  # fmt: skip
    """The study's genre co-occurrence (``tag_sets``, default ``../shared/seed/tag_sets.json``)
    when the file is there and ``genres`` are the study's ten; else None."""
    from ..config import resolve, shared_file

    path = resolve(tag_sets) if tag_sets else shared_file("seed/tag_sets.json")
    if tuple(genres) != GENRES or path is None or not Path(path).is_file():
        return None
    return study_cooccurrence(path)


def model_family(info: dict) -> str:
    """Which comparison group a model belongs to, from its ``config.json`` (architecture,
    input, pooling), never from its folder name."""
    if info.get("pooling") not in (None, "mean"):
        return "pooling"
    architecture = str(info.get("architecture", ""))
    if architecture.startswith("musicnn") or str(info.get("input", "")).startswith("musicnn"):
        return "transfer"
    if architecture in ("tile_mlp", "summary_mlp"):
        return "fully-connected"
    if architecture == "binary_ensemble":
        return "binary ensemble"
    if architecture == "study_cnn":
        return "study CNN"
    return "modern CNN"


def standard_pairs(macro: dict[str, float], infos: dict[str, dict]) -> list[tuple[str, str, str]]:
    """The comparisons every run reports, as (question, model A, model B) triples.

    ``macro`` maps model names to macro ROC-AUC (used only to pick the best of a
    family), ``infos`` their ``config.json``; pairs whose models the run lacks are left out.
    """
    fam: dict[str, list[str]] = {}
    for name in macro:
        fam.setdefault(model_family(infos.get(name, {})), []).append(name)

    def best(*families: str) -> str | None:
        names = [n for f in families for n in fam.get(f, [])]
        return max(names, key=macro.get) if names else None

    def plain(name: str) -> tuple:  # what a model is, apart from its pooling
        info = infos.get(name, {})
        return info.get("architecture"), info.get("feature_kind")

    pairs: list[tuple[str, str, str]] = []
    study, overall = best("study CNN"), max(macro, key=macro.get) if macro else None
    if study and overall and overall != study:
        pairs.append(("best model vs the study's CNN architecture", overall, study))
    cnn = best("study CNN", "modern CNN", "binary ensemble")
    dense = best("fully-connected")
    if cnn and dense:
        pairs.append(("best CNN vs best fully-connected net", cnn, dense))
    modern = best("modern CNN")
    if modern and study:
        pairs.append(("best modern CNN vs the study's CNN", modern, study))
    for name in fam.get("binary ensemble", []):
        feature = infos[name].get("feature_kind")
        multi = [n for n in fam.get("study CNN", []) if plain(n) == ("study_cnn", feature)]
        if multi:
            pairs.append(("ten binary nets vs one multi-label net", name, multi[0]))
    for name in fam.get("pooling", []):
        base = infos[name].get("base_model")
        if base in macro:
            pairs.append((f"{infos[name]['pooling']} pooling vs mean of tiles", name, base))
    transfer = best("transfer")
    if transfer and study:
        pairs.append(("pretrained musicnn (best use) vs the study's CNN", transfer, study))
    by_architecture = {infos[n].get("architecture"): n for n in fam.get("transfer", [])}
    if {"musicnn_finetuned", "musicnn_mlp"} <= set(by_architecture):
        pairs.append(("fine-tuning vs embeddings + MLP", by_architecture["musicnn_finetuned"],
                      by_architecture["musicnn_mlp"]))  # fmt: skip
    return pairs


def paired_table(
    test_sets: dict[str, tuple[np.ndarray, np.ndarray, pd.DataFrame]],
    pairs: list[tuple[str, str, str]],
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Paired macro ROC-AUC differences (A - B) over the same film resamples, one row per pair.

    Both models must have scored the same test cues in the same order.
    """
    rows = []
    for question, a, b in pairs:
        y, s_a, rows_a = test_sets[a]
        _, s_b, rows_b = test_sets[b]
        if not rows_a[["film", "cue"]].equals(rows_b[["film", "cue"]]):
            raise ValueError(f"{a} and {b} scored different test cues; cannot pair them")
        diff = paired_difference(y, s_a, s_b, rows_a.film.to_numpy(), n_boot=n_boot, seed=seed)
        rows.append({"comparison": question, "a": a, "b": b, **diff})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- a run, scored

#: the reference rows of a run's table: scored like the models, never "the best model"
STUDY_ROW = "original study (its own 196 cues)"
PRIOR_ROW = "prior (genre frequency)"
REFERENCE_ROWS = (STUDY_ROW, PRIOR_ROW)

#: ``metrics.json`` of a run, version 1: what :func:`evaluate_run` writes and
#: :func:`read_metrics` checks before anything else (runs list, tag's default model) reads it
METRICS_SCHEMA_VERSION = 1
METRICS_KEYS = ("schema_version", "manifest_digest", "split", "n_boot", "models", "paired",
                "decisions", "training", "versions")  # fmt: skip
#: each entry of ``models``: headline metrics with 95% film-bootstrap intervals, per genre
MODEL_KEYS = ("n_cues", "n_films", "metrics", "ci95", "per_genre")


def read_metrics(path: str | os.PathLike[str]) -> dict:
    """A run's ``metrics.json``, checked against the schema; errors name the file and what
    is missing (a file from before the schema had a version is read if its models are)."""
    path = Path(path)
    payload = json.loads(path.read_text())
    models = payload.get("models")
    if not isinstance(models, dict):
        raise ValueError(f"{path}: no 'models' table; not a filmgenre metrics.json")
    if payload.get("schema_version", METRICS_SCHEMA_VERSION) != METRICS_SCHEMA_VERSION:
        raise ValueError(f"{path}: schema version {payload['schema_version']}, this filmgenre "
                         f"reads {METRICS_SCHEMA_VERSION}")  # fmt: skip
    for name, entry in models.items():
        missing = [k for k in ("metrics", "ci95") if k not in entry]
        if missing or "macro_roc_auc" not in entry.get("metrics", {}):
            raise ValueError(f"{path}: model {name!r} lacks {missing or ['macro_roc_auc']}")
    return payload


def best_model(metrics: dict, available: set[str] | None = None) -> str | None:
    """The run's own model with the highest test macro ROC-AUC (reference rows never count);
    ``available`` limits the choice (e.g. to models whose weights are on disk)."""
    ours = {k: v["metrics"]["macro_roc_auc"] for k, v in metrics.get("models", {}).items()
            if k not in REFERENCE_ROWS and (available is None or k in available)}  # fmt: skip
    return max(ours, key=ours.get) if ours else None


@dataclass
class RunEvaluation:
    """Everything notebook 07 shows: scores, the test and validation predictions, paired
    questions, thresholded decisions, the model zoo and the ``metrics.json`` written."""

    scores: dict[str, dict]
    test_sets: dict[str, tuple[np.ndarray, np.ndarray, pd.DataFrame]]
    val_sets: dict[str, tuple[np.ndarray, np.ndarray, pd.DataFrame]]
    paired: pd.DataFrame
    decisions: dict[str, pd.DataFrame]
    infos: dict[str, dict]
    best: str
    zoo: pd.DataFrame
    payload: dict


def evaluate_run(
    run_dir: str | os.PathLike[str],
    n_boot: int = 1000,
    seed: int = 0,
    study_predictions: str | os.PathLike[str] | None = None,
) -> RunEvaluation:
    """Score every model of a run on its test films, with film-bootstrap intervals, the
    paired questions (families from each model's ``config.json``), thresholds chosen on
    validation films, the study's reference row (``study_predictions``, default
    ``../shared/seed/pooling_dict.json`` when there and the genres are the study's) and the
    prior; write each model's ``metrics.json`` and study-schema export and the run's
    ``metrics.json``."""
    from ..config import shared_file
    from ..data.dataset import Manifest
    from ..runtime.versions import library_versions
    from ..training.artifacts import load_run_models

    run_dir = Path(run_dir)
    manifest = Manifest.load(run_dir / "dataset")
    genres = manifest.genres
    runs = load_run_predictions(run_dir)
    if not runs:
        raise FileNotFoundError(f"no trained models under {run_dir / 'models'}: run notebooks "
                                "03 to 06 first")  # fmt: skip
    infos = load_run_models(run_dir)
    scores: dict[str, dict] = {}
    study = Path(study_predictions) if study_predictions else shared_file("seed/pooling_dict.json")
    if tuple(genres) == GENRES and study is not None and study.is_file():
        y, s, rows = split_predictions(load_study_predictions(study), genres)
        scores[STUDY_ROW] = score_model(y, s, rows.film.to_numpy(), genres, n_boot, seed)
    test_sets, val_sets = {}, {}
    for name, frame in runs.items():
        test_sets[name] = split_predictions(frame, genres)
        val_sets[name] = split_predictions(frame, genres, "val")
        y, s, rows = test_sets[name]
        scores[name] = score_model(y, s, rows.film.to_numpy(), genres, n_boot, seed)
        folder = run_dir / "models" / name  # each model's test scores beside its weights
        beside = {"manifest_digest": manifest.digest(), "split": "test", **scores[name]}
        write_metrics(folder / "metrics.json", beside)
        export_study_schema(frame, folder / "test_predictions_study_schema.json", genres=genres)
    y, _, rows = next(iter(test_sets.values()))
    prior = prior_scores(manifest.split("train")[list(genres)].to_numpy(), len(y))
    scores[PRIOR_ROW] = score_model(y, prior, rows.film.to_numpy(), genres, n_boot, seed)
    macro = {k: scores[k]["metrics"]["macro_roc_auc"] for k in test_sets}
    paired = paired_table(test_sets, standard_pairs(macro, infos), n_boot=n_boot, seed=seed)
    decisions = {}
    for name in test_sets:
        y_val, s_val, _ = val_sets[name]
        y, s, _ = test_sets[name]
        decisions[name] = f1_table(y, s, choose_thresholds(y_val, s_val), genres)
    zoo = model_zoo(infos, macro)
    payload = {
        "schema_version": METRICS_SCHEMA_VERSION,
        "manifest_digest": manifest.digest(),
        "split": "test",
        "n_boot": n_boot,
        "models": scores,
        "paired": paired.to_dict("records"),
        "decisions": {
            k: t.reset_index(names="genre").to_dict("records") for k, t in decisions.items()
        },  # fmt: skip
        "training": {
            k: {
                f: v.get(f)
                for f in ("params", "epochs_run", "train_seconds", "examples_per_s", "best_val_auc")
            }
            for k, v in infos.items()
        },  # fmt: skip
        "versions": library_versions(),
    }
    write_metrics(run_dir / "metrics.json", payload)
    best = best_model(payload)
    return RunEvaluation(scores, test_sets, val_sets, paired, decisions, infos, best, zoo, payload)


def model_zoo(infos: dict[str, dict], macro: dict[str, float]) -> pd.DataFrame:
    """One row per trained model: family, input, size, training cost, validation and test
    macro ROC-AUC, best test score first ("+max" rows reuse their base model's training)."""
    columns = ["params", "train_examples", "epochs_run", "best_epoch", "train_seconds",
               "examples_per_s", "best_val_auc"]  # fmt: skip
    zoo = pd.DataFrame(infos).T.reindex(columns=columns)
    zoo.insert(0, "family", [model_family(infos[n]) for n in zoo.index])
    zoo.insert(1, "input", [infos[n].get("feature_kind") for n in zoo.index])
    zoo["trainable_params"] = [infos[n].get("trainable_params", infos[n].get("params"))
                               for n in zoo.index]  # fmt: skip
    zoo["test_macro_roc_auc"] = [macro.get(n) for n in zoo.index]
    return zoo.sort_values("test_macro_roc_auc", ascending=False)
