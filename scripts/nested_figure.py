"""The nested cross-validated figure of the model choice on a real collection (default:
../shared/realaudio/filmscore), as the real profile's notebook 08 computes it: every
candidate family of the pipeline (``DEFAULTS["cv_families"]``) through grouped inner folds
inside each outer fold, the best fitted and predicting the outer fold. Prints cue- and
film-level macro ROC-AUC with film-bootstrap intervals, the paired difference with the
MFCC + logistic-regression anchor, the families chosen, and the cross-fitted calibration
error of the procedure's predictions.

    .venv/bin/python scripts/nested_figure.py [--repeats 1] [--folds 5] [--families A B ...]

``--families`` runs other candidates (film-level families among them: those are compared
with the mean of cue scores of their cue-level counterpart, not nested; segment-level ones
are nested and compared with their cue-level counterpart). ``--ensembles 1 2 3`` lets each
outer fold choose the mean of its inner best two or three families as well.
"""

from __future__ import annotations

import argparse
import time

from filmgenre.config import DEFAULTS
from filmgenre.data import assemble
from filmgenre.evaluation import calibration
from filmgenre.evaluation.crossval import folds, oof, vectors
from filmgenre.evaluation.crossval import study as cv_study
from filmgenre.runtime import scratch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--families", nargs="+", default=list(DEFAULTS["cv_families"]),
                        choices=sorted(vectors.FAMILIES))  # fmt: skip
    parser.add_argument("--ensembles", type=int, nargs="+", default=[1],
                        help="ensemble sizes the nested selection may choose besides single "
                        "families (the mean of the inner best k), e.g. 1 2 3")  # fmt: skip
    args = parser.parse_args()
    work = scratch.scratch_dir("filmgenre-nested-")
    try:
        manifest = assemble.real_collection("filmscore", work / "dataset")
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    families = list(dict.fromkeys(["mfcc_logreg", *args.families]))  # the anchor first
    study = cv_study.CrossValidationRun(manifest, work,
                                        folds.CVConfig(k=args.folds, repeats=args.repeats))
    started = time.perf_counter()
    study.run_models(families, ensemble=False, nested=True, progress=False,
                     nested_ensembles=tuple(args.ensembles))  # fmt: skip
    print(f"{len(families)} families and the nested selection in "
          f"{time.perf_counter() - started:.0f} s; {manifest.cues.film.nunique()} films, "
          f"{len(manifest.cues)} cues, {args.folds} folds x {args.repeats}")
    tables = study.score()
    for level in ("cue", "film (mean of cues)"):
        print(f"\n{level}")
        print(tables[level].iloc[:, :2].round(3).to_string())
    paired = study.compare_with_anchor()
    print("\npaired with the anchor (mfcc_logreg):")
    print(paired[["level", "a", "difference", "ci95_low", "ci95_high"]].round(3)
          .to_string(index=False))  # fmt: skip
    film_models = study.film_models()
    if len(film_models):
        print("\nfilm-level models vs the mean of their cue-level counterpart's cue scores:")
        print(film_models.drop(columns=["metric", "interval_excludes_zero"]).round(3)
              .to_string(index=False))  # fmt: skip
    segments = {n: vectors.FAMILIES[n].pooled_counterpart for n in families
                if vectors.FAMILIES[n].level == "segment"}  # fmt: skip
    for name, counterpart in segments.items():
        if counterpart in study.results:
            pair = oof.paired_with({n: study.results[n] for n in (counterpart, name)},
                                        counterpart, genres=manifest.genres)  # fmt: skip
            print(f"\n{name} vs {counterpart} (learned from segments vs from the cue vector):")
            print(pair[["level", "difference", "ci95_low", "ci95_high"]].round(3)
                  .to_string(index=False))  # fmt: skip
    print("\nfamilies chosen by the outer folds:")
    print(study.nested_choices().to_string(index=False))
    frame = study.results[cv_study.NESTED].predictions
    genres = manifest.genres
    y = frame[[f"y_{g}" for g in genres]].to_numpy(float)
    s = frame[[f"p_{g}" for g in genres]].to_numpy(float)
    after = calibration.cross_fit(y, s, frame["fold"].to_numpy())
    table = calibration.ece_table(y, s, after, genres)
    print("\nnested predictions, mean ECE over genres before / after cross-fitted calibration: "
          f"{table.loc['mean over genres', 'ece_before']:.3f} / "
          f"{table.loc['mean over genres', 'ece_after']:.3f}")


if __name__ == "__main__":
    main()
