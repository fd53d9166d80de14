"""Search quality on a labelled collection, cross-validated by film: does a genre mix, or
"more like this", find the right music?

An index of the collection is built from out-of-fold scores (every film scored by models
that never saw it: ``filmgenre.library.quality``), then every query of four kinds is run
against it and scored (precision@10, MAP, nDCG@10, film-bootstrap intervals) beside
random ranking and the MFCC + logistic-regression anchor; each cue's 10 nearest cues are
checked for the same film's other track and for genre agreement. The way mixes are ranked
and the similarity space's settings are chosen inside each fold; the choices are printed.

    python benchmarks/bench_search_quality.py [--collection filmscore] [--repeats 3]
        [--folds 5] [--boot 500] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import pandas as pd

from filmgenre import runtime
from filmgenre.data import build
from filmgenre.library import quality


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--collection", default="filmscore",
                        help="a folder or a name under ../shared/realaudio (default filmscore)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--boot", type=int, default=500)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    work = runtime.scratch_dir("filmgenre-quality-")
    try:
        manifest = build.real_collection(args.collection, work / "dataset")
    except FileNotFoundError as error:
        print(f"no collection to measure: {error}")
        return 2
    started = time.perf_counter()
    figures = quality.report(manifest, folds=args.folds, repeats=args.repeats, n_boot=args.boot)
    seconds = time.perf_counter() - started
    print(quality.describe(figures, args.collection, seconds))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=1, default=str)
    return 0


if __name__ == "__main__":
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        sys.exit(main())
