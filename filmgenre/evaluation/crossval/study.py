"""A whole cross-validation study of a run, as notebook 08 walks through it.

:class:`CrossValidationRun` holds what each step leaves (out-of-fold results, scores per
level, paired differences with the anchor, leakage, breakdowns, final models) so the
notebook only calls steps and shows their tables; ``write`` saves ``crossval/metrics.json``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ...data.dataset import Manifest
from ...training.settings import TrainConfig
from .final import fit_final, fit_final_keras
from .folds import CVConfig
from .loops import CVResult, average, cross_validate_keras, cross_validate_vectors, save
from .nested import nested_cross_validate
from .oof import (
    breakdown,
    film_models_vs_pooling,
    leakage,
    level_tables,
    paired_with,
    per_genre,
    score_levels,
    scored_at,
)
from .vectors import FAMILIES, cue_vectors, segment_vectors

#: the row of the whole procedure: a family chosen by inner folds inside each outer fold
NESTED = "nested_selection"


def keras_config(parameters: dict) -> TrainConfig:
    """The training configuration of the cross-validated Keras models from a notebook's
    ``cv_*`` parameters (``cv_epochs`` -> ``epochs`` ...), quiet, seeded by ``seed``."""
    fields = {k.removeprefix("cv_"): v for k, v in parameters.items() if k.startswith("cv_")}
    return TrainConfig.from_parameters(fields, seed=parameters.get("seed", 0), verbose=0)


@dataclass
class CrossValidationRun:
    """One collection cross-validated: every step's output kept for the next and for
    ``crossval/metrics.json``."""

    manifest: Manifest
    run_dir: Path
    cv: CVConfig
    n_boot: int = 1000
    seed: int = 0
    anchor: str = "mfcc_logreg"
    min_films: int = 3
    results: dict[str, CVResult] = field(default_factory=dict)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    keras_labels: dict[tuple[str, str], str] = field(default_factory=dict)
    levels: dict[str, dict[str, dict]] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    paired: pd.DataFrame | None = None
    leakage: pd.DataFrame | None = None
    genre_table: pd.DataFrame | None = None
    song_table: pd.DataFrame | None = None
    finals: dict[str, Path] = field(default_factory=dict)
    calibrated: dict[str, CVResult] = field(default_factory=dict)
    calibration: pd.DataFrame | None = None
    film_table: pd.DataFrame | None = None

    @property
    def genres(self) -> tuple[str, ...]:
        return self.manifest.genres

    def run_models(
        self,
        families: list[str],
        keras_models: list | tuple = (),
        keras_repeats: int = 1,
        train_config: TrainConfig | None = None,
        ensemble: bool = True,
        progress: bool | None = None,
        nested: bool = True,
        nested_ensembles: tuple[int, ...] = (1,),
    ) -> pd.DataFrame:
        """Out-of-fold predictions of every cue-vector family and Keras model (and their
        mean, fixed in advance, with ``ensemble``; and, with ``nested``, of choosing the
        best family inside each outer fold: :data:`NESTED`, with ``nested_ensembles`` sizes
        of inner-best ensembles as further candidates), saved under ``crossval/``;
        returns each model's time."""
        from ...data import musicnn_input

        if any("musicnn" in part for f in families for part in FAMILIES[f].parts):
            musicnn_input.extract_inputs(self.manifest, progress=progress)
        for name in families:
            load = segment_vectors if FAMILIES[name].level == "segment" else cue_vectors
            self.vectors[name] = load(self.manifest, FAMILIES[name].parts, progress)
            x = self.vectors[name]
            self.results[name] = cross_validate_vectors(name, self.manifest, x, self.cv)
        per_cue = [f for f in families if FAMILIES[f].level != "film"]
        if nested and len(per_cue) > 1:
            # the whole choice of family, head and strength inside each outer fold: the
            # figure for the procedure, next to the best single row (best of N, optimistic)
            self.results[NESTED] = nested_cross_validate(
                self.manifest, self.vectors, per_cue, self.cv, name=NESTED,
                ensemble_sizes=nested_ensembles)  # fmt: skip
        keras_cv = CVConfig(self.cv.k, keras_repeats, self.cv.seed, self.cv.by)
        for name, kind in keras_models:
            result = cross_validate_keras(name, self.manifest, self.run_dir / "crossval" / "keras",
                                          kind, keras_cv, train_config)  # fmt: skip
            self.results[result.name] = result
            self.keras_labels[(name, kind)] = result.name
        members = [r for n, r in self.results.items()
                   if n != NESTED and r.info["kind"] != "film_vector"]  # fmt: skip
        if ensemble and len(members) > 1:
            self.results["ensemble_of_all"] = average(members, "ensemble_of_all")
        for result in self.results.values():
            save(result, self.run_dir / "crossval")
        return pd.DataFrame({n: {"seconds": r.info["seconds"], "kind": r.info["kind"]}
                             for n, r in self.results.items()}).T  # fmt: skip

    def score(self) -> dict[str, pd.DataFrame]:
        """Every model scored at cue and film level with film-bootstrap intervals; one
        table per level, best first."""
        self.levels = score_levels(self.results, self.genres, self.n_boot, self.seed)
        self.tables = level_tables(self.levels, self.results, self.genres, self.min_films)
        return self.tables

    @property
    def best(self) -> str:
        """The best model at cue level (of the cross-validated rows: best of N, optimistic)."""
        return str(self.tables["cue"].index[0])

    def nested_choices(self) -> pd.DataFrame | None:
        """Which family each outer fold of the nested cross-validation chose."""
        from .nested import choices_table

        return choices_table(self.results[NESTED]) if NESTED in self.results else None

    @property
    def best_family(self) -> str | None:
        """The best cue-vector family at cue level."""
        return next((n for n in self.tables["cue"].index if n in FAMILIES), None)

    def ranked(self, level: str = "cue") -> dict[str, dict]:
        """Scores of one level, best first (for the interval figure)."""
        return {name: self.levels[level][name] for name in self.tables[level].index}

    def compare_with_anchor(self) -> pd.DataFrame:
        """Every model minus the anchor on the same film resamples, cue and film level."""
        self.paired = paired_with(self.results, self.anchor, self.genres, self.n_boot, self.seed)
        return self.paired

    def measure_leakage(self, groupings: list[str] | tuple[str, ...]) -> pd.DataFrame:
        """The anchor and the best family under each grouping (cues at random, films,
        composers), the film grouping reused from :meth:`run_models`."""
        names = [self.anchor, *([self.best_family] if self.best_family else [])]
        self.leakage = leakage(self.manifest, names, groupings, self.cv, self.n_boot,
                               self.vectors, done=self.results)  # fmt: skip
        return self.leakage

    def breakdowns(self) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The best model per genre (genres too rare to rank flagged) and, where cues say
        so, score vs licensed-song cues."""
        frame = self.results[self.best].predictions
        self.genre_table = per_genre(frame, self.genres, self.min_films)
        if "score0_song1" in frame:
            self.song_table = breakdown(frame, self.genres, "score0_song1", self.n_boot,
                                        self.seed)  # fmt: skip
        return self.genre_table, self.song_table

    def too_rare(self) -> list[str]:
        """Genres with fewer than ``min_films`` positive films."""
        table = self.genre_table
        return [] if table is None else table.index[table.too_rare_to_rank].tolist()

    def per_genre_auc(self) -> pd.DataFrame:
        """Genres x models of out-of-fold ROC-AUC per cue (the per-genre heatmap's input;
        film-level models are compared at the film level, :meth:`film_models`)."""
        return pd.DataFrame({n: per_genre(r.predictions, self.genres)["roc_auc"]
                             for n, r in self.results.items()
                             if scored_at(r, "cue")})  # fmt: skip

    def film_models(self) -> pd.DataFrame:
        """Every film-level model against the mean of its cue-level counterpart's cue scores
        on the same film resamples (empty when no film-level family ran)."""
        self.film_table = film_models_vs_pooling(self.results, self.genres, self.n_boot,
                                                 self.seed, self.levels)  # fmt: skip
        return self.film_table

    def calibrate(self, bins: int = 10) -> pd.DataFrame:
        """Per-genre Platt calibration of every model's out-of-fold scores, cross-fitted over
        the folds (each fold mapped by a fit on the others); one row per model: mean ECE
        over genres before and after, and the platt slopes' range.

        The final model's map is one monotone function per genre, so it ranks the cues of
        a genre exactly as the uncalibrated model (its ROC-AUC is the table's). Cross-fitted
        scores come from a different map in each fold, so pooled over folds they rank
        worse than any one map would: they are for measuring calibration (ECE) on films
        the maps never saw, not for ranking."""
        from .. import calibration, metrics

        rows = []
        for name, result in self.results.items():
            frame = result.predictions
            y = frame[[f"y_{g}" for g in self.genres]].to_numpy(float)
            s = frame[[f"p_{g}" for g in self.genres]].to_numpy(float)
            after = calibration.cross_fit(y, s, frame["fold"].to_numpy())
            out = frame.copy()
            out[[f"p_{g}" for g in self.genres]] = after
            self.calibrated[name] = CVResult(name, out, {**result.info, "calibrated": True})
            table = calibration.ece_table(y, s, after, self.genres, bins)
            platt = calibration.fit_platt(y, s)
            rows.append({"model": name,
                         "mean ECE before": table.loc["mean over genres", "ece_before"],
                         "mean ECE after (cross-fitted)": table.loc["mean over genres",
                                                                    "ece_after"],
                         "macro ROC-AUC": metrics.macro_roc_auc(y, s),
                         "Platt slopes": f"{platt.slope.min():.2f} to "
                                         f"{platt.slope.max():.2f}"})  # fmt: skip
        self.calibration = pd.DataFrame(rows).set_index("model").sort_values(
            "mean ECE after (cross-fitted)")
        return self.calibration

    def ece_per_genre(self, name: str | None = None, bins: int = 10) -> pd.DataFrame:
        """ECE per genre before and after calibration of one model (default: the best)."""
        from .. import calibration

        name = name or self.best
        before, after = self.results[name].predictions, self.calibrated[name].predictions
        cols = [f"p_{g}" for g in self.genres]
        y = before[[f"y_{g}" for g in self.genres]].to_numpy(float)
        return calibration.ece_table(y, before[cols].to_numpy(float), after[cols].to_numpy(float),
                                     self.genres, bins)  # fmt: skip

    def reliability(self, name: str | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """(labels, scores) of one model before and after calibration, for the figure."""
        name = name or self.best
        cols = [f"p_{g}" for g in self.genres]
        y = self.results[name].predictions[[f"y_{g}" for g in self.genres]].to_numpy(float)
        return {f"{name}, out of fold": (y, self.results[name].predictions[cols].to_numpy()),
                f"{name}, calibrated (cross-fitted)":
                    (y, self.calibrated[name].predictions[cols].to_numpy())}  # fmt: skip

    def _platt(self, name: str):
        from ..calibration import fit_platt

        frame = self.results[name].predictions
        return fit_platt(frame[[f"y_{g}" for g in self.genres]].to_numpy(float),
                         frame[[f"p_{g}" for g in self.genres]].to_numpy(float))  # fmt: skip

    def _calibration_record(self, name: str) -> dict | None:
        if self.calibration is None or name not in self.calibration.index:
            return None
        row = self.calibration.loc[name]
        return {"cross_fitted_mean_ece_before": float(row["mean ECE before"]),
                "cross_fitted_mean_ece_after":
                    float(row["mean ECE after (cross-fitted)"])}  # fmt: skip

    def _cv_scores(self, name: str) -> dict:
        return dict(self.levels["cue"][name]["metrics"], folds=self.cv.k,
                    repeats=self.cv.repeats, grouping=self.cv.by)  # fmt: skip

    def fit_finals(self, families: list[str], keras_models: list | tuple = (),
                   train_config: TrainConfig | None = None) -> pd.DataFrame:  # fmt: skip
        """Every family trained once more for tag and search (cue-vector families on all
        films, Keras models on all but one fold), each with its cross-validated score;
        after :meth:`calibrate`, cue-vector families output calibrated probabilities
        (Platt maps fitted on their out-of-fold scores, folded into the output layer).
        Film-level families are measured, not shipped: tag and search score single tracks."""
        for name in [f for f in families if FAMILIES[f].level == "cue"]:
            calibrated = self.calibration is not None
            self.finals[name] = fit_final(name, self.manifest, self.vectors[name],
                                          self.run_dir / "models" / f"{name}_final",
                                          self._cv_scores(name), seed=self.seed,
                                          platt=self._platt(name) if calibrated else None,
                                          calibration=self._calibration_record(name))  # fmt: skip
        for name, kind in keras_models:
            label = self.keras_labels[(name, kind)]
            self.finals[label] = fit_final_keras(name, self.manifest, self.run_dir, kind,
                                                 train_config, self._cv_scores(label),
                                                 self.cv.k, self.seed, label)  # fmt: skip
        return pd.DataFrame({n: {"folder": str(p.relative_to(self.run_dir)),
                                 "cv_macro_roc_auc": self.levels["cue"][n]["metrics"][
                                     "macro_roc_auc"]}
                             for n, p in self.finals.items()}).T  # fmt: skip

    def payload(self) -> dict:
        """Everything of the study for ``crossval/metrics.json``."""
        from ...runtime.versions import library_versions

        def records(frame: pd.DataFrame | None) -> list | None:
            return None if frame is None else frame.to_dict("records")

        return {
            "manifest_digest": self.manifest.digest(),
            "cv": {"folds": self.cv.k, "repeats": self.cv.repeats, "seed": self.cv.seed,
                   "grouping": self.cv.by},  # fmt: skip
            "n_boot": self.n_boot,
            "anchor": self.anchor,
            "best": self.best,
            "nested": None if NESTED not in self.results else {
                "name": NESTED, "chosen_counts": self.results[NESTED].info["chosen_counts"],
                "levels": {level: self.levels[level][NESTED] for level in self.levels
                           if NESTED in self.levels[level]}},  # fmt: skip
            "levels": self.levels,
            "paired": records(self.paired) or [],
            "leakage": records(self.leakage) or [],
            "per_genre": records(None if self.genre_table is None
                                 else self.genre_table.reset_index(names="genre")),  # fmt: skip
            "score_vs_song": records(self.song_table),
            "film_models": records(self.film_table) or [],
            "calibration": None if self.calibration is None
            else self.calibration.reset_index().to_dict("records"),  # fmt: skip
            "models": {n: r.info for n, r in self.results.items()},
            "versions": library_versions(),
        }

    def write(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write :meth:`payload` (default ``<run>/crossval/metrics.json``); returns the path."""
        from ..evaluate import write_metrics

        return write_metrics(path or self.run_dir / "crossval" / "metrics.json", self.payload())
