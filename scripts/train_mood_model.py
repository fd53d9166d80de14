"""Train the mood model that ships inside the package, from the listeners' judgements in
../shared/realaudio: GEMS emotions from emotify's 120 clips, valence and arousal from
FME-24's annotations of filmscore's cues.

Runs the nested cross-validation first (every figure of docs/results.md's mood section:
per-emotion ROC-AUC and AP beside the MFCC anchor, calibration, valence and arousal beside
the listeners' split-half agreement), then the final model (the same choice made on every
clip and film, Platt maps on its out-of-fold outputs), and writes
filmgenre/pretrained/moods_emotify_fme24/ (moods.npz, config.json with what it was trained
on, what each output means and the cross-validated figures).

    .venv/bin/python scripts/train_mood_model.py [--repeats 3] [--out DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from filmgenre.config import FeatureParams
from filmgenre.data.moods import MEANINGS
from filmgenre.evaluation.moods import collections, figures, study
from filmgenre.evaluation.moods.model import SHIPPED_DIR
from filmgenre.runtime import versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--out", default=str(SHIPPED_DIR))
    parser.add_argument("--json", help="also write every figure to this file")
    args = parser.parse_args()
    try:
        gems = collections.gems_collection("emotify", progress=True)
        va = collections.va_collection("filmscore", progress=True)
    except FileNotFoundError as error:
        raise SystemExit(str(error)) from None
    found = figures.study(gems, va, repeats=args.repeats, n_boot=args.boot, progress=True)
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print(figures.describe(found))
    model, choices = study.fit_final(gems, va)
    model.info = {
        "name": Path(args.out).name,
        "what": "nine GEMS emotions (calibrated probabilities) and valence and arousal "
                "(-1..1) of music, from cue-vector parts the index computes in its one "
                "musicnn pass",
        "trained_on": {
            "gems": f"../shared/realaudio/emotify: {len(gems.keys)} clips of about 60 s "
                    "(classical, electronic, pop, rock; Magnatune), each with the share of "
                    "its listeners (about 40) who chose each GEMS emotion (Aljanaki et al. "
                    "2015); targets the shares, labels the emotions chosen by 30% or more",
            "valence_arousal": f"../shared/realaudio/filmscore/emotions.csv: {len(va.keys)} "
                               f"film-score cues of 15 s from {len(set(va.groups))} films, "
                               "each the mean placement of its 1-4 listeners (FME-24, "
                               "Crocker 2024), annotations at exactly (0, 0) dropped",
        },
        "outputs": MEANINGS,
        "choices": choices,
        "cross_validation": summary(found),
        "feature_params": asdict(FeatureParams()),
        "versions": versions.library_versions(),
    }  # fmt: skip
    print(f"wrote {model.save(args.out)}: {choices}")
    if args.json:
        Path(args.json).write_text(json.dumps(found, indent=1, default=str))


def summary(found: dict) -> dict:
    """The figures a model's config carries: per emotion and on average, per dimension."""
    gems = {r["emotion"]: {k: r[k] for k in ("positives", "ROC-AUC (nested)", "AP (nested)",
                                             "ROC-AUC (MFCC anchor)", "AP (MFCC anchor)")}
            for r in found["gems"]}  # fmt: skip
    mean = found["gems"][-1]
    return {
        "procedure": f"nested: {found['folds']} outer folds x {found['repeats']} repeats, "
                     f"{found['inner_folds']} inner folds choosing family and strength; "
                     "GEMS folds over clips, valence-arousal folds by film",
        "gems_macro_roc_auc": mean["ROC-AUC (nested)"],
        "gems_macro_roc_auc_95": mean["ROC-AUC (nested) 95%"],
        "gems_macro_ap": mean["AP (nested)"],
        "gems_per_emotion": gems,
        "valence_arousal": found["valence_arousal"],
        "calibration_mean_ece_after": found["calibration"][-1]["ECE after (Platt, cross-fitted)"],
    }  # fmt: skip


if __name__ == "__main__":
    main()
