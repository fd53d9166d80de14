"""Search quality on a labelled collection, cross-validated by film: does a genre mix, or
"more like this", find the right music? And do the words of a brief (calm, tense, dark ...)?

An index of the collection is built from out-of-fold scores (every film scored by models
that never saw it: ``filmgenre.library.quality``), then every query of four kinds is run
against it and scored (precision@10, MAP, nDCG@10, film-bootstrap intervals) beside
random ranking and the MFCC + logistic-regression anchor; each cue's 10 nearest cues are
checked for the same film's other track and for genre agreement. The way mixes are ranked
and the similarity space's settings are chosen inside each fold; the choices are printed.

Then the mood words (``filmgenre.library.mood_quality``): the mood model cross-validated with
its selection nested (GEMS on emotify's clips, valence and arousal on filmscore's annotated
cues, folds by film), and every emotion word, style word and valence/arousal word run as
search runs it over those out-of-fold moods: precision@10 and AP against random, and the
valence/arousal words' rank correlation with the listeners beside their own agreement.

    python benchmarks/bench_search_quality.py [--collection filmscore] [--repeats 3]
        [--folds 5] [--boot 500] [--json FILE] [--only genres|moods]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import pandas as pd

from filmgenre.data import assemble
from filmgenre.evaluation.moods import collections
from filmgenre.evaluation.moods import figures as mood_figures
from filmgenre.library import mood_quality, quality
from filmgenre.runtime import scratch


def some_films(name: str, n: int, folder: Path) -> Path:
    """A copy of ``n`` films of a real collection (its labels and cue tables cut to them),
    spread over its label table, for a quick run."""
    from filmgenre.config import shared_dir

    source = Path(name) if Path(name).is_dir() else (shared_dir() or Path("../shared")) \
        / "realaudio" / name  # fmt: skip
    if not (source / "labels.csv").is_file():
        return source  # real_collection says what is missing
    labels = pd.read_csv(source / "labels.csv")
    kept = labels.iloc[:: max(1, len(labels) // n)].head(n)
    folder.mkdir(parents=True)
    kept.to_csv(folder / "labels.csv", index=False)
    for film in kept["film"]:
        shutil.copytree(source / film, folder / film)
    if (source / "cues.csv").is_file():
        cues = pd.read_csv(source / "cues.csv")
        cues[cues["film"].isin(kept["film"])].to_csv(folder / "cues.csv", index=False)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", default="filmscore",
                        help="a folder or a name under ../shared/realaudio (default filmscore)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--boot", type=int, default=500)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--only", choices=("genres", "moods"), help="measure one part only")
    parser.add_argument("--quick", action="store_true",
                        help="tiny inputs: checks that the benchmark runs (the suite runs it)")
    args = parser.parse_args()
    limit = None
    if args.quick:  # 10 films spread over filmscore, 12 clips and films of the listeners
        args.folds, args.repeats, args.boot, limit = 2, 1, 20, 12
    found = {}
    if args.only != "moods":
        work = scratch.scratch_dir("filmgenre-quality-")
        collection = args.collection
        if args.quick:
            collection = some_films(args.collection, 10, work / "films")
        try:
            manifest = assemble.real_collection(collection, work / "dataset")
        except FileNotFoundError as error:
            print(f"no collection to measure: {error}")
            return 2
        started = time.perf_counter()
        found["genres"] = quality.report(manifest, folds=args.folds, repeats=args.repeats,
                                         n_boot=args.boot)  # fmt: skip
        print(quality.describe(found["genres"], args.collection, time.perf_counter() - started))
    if args.only != "genres":
        started = time.perf_counter()
        pair = collections.listener_collections(limit=limit)
        if pair is None:
            print("no listener judgements to measure moods on: ../shared/realaudio is absent")
            return 2
        study = mood_figures.study(*pair, k=args.folds, repeats=args.repeats, n_boot=args.boot)
        words = mood_quality.report(*pair, study, n_boot=args.boot)
        print(mood_figures.describe(study))
        seconds = time.perf_counter() - started
        print(mood_quality.describe(words) + f"moods measured in {seconds:.0f} s")
        found["moods"] = {"model": study, "words": words}
    if args.json:
        with open(args.json, "w") as out:
            json.dump(found, out, indent=1, default=str)
    return 0

if __name__ == "__main__":
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        sys.exit(main())
