"""Notebook 10 of the smoke run: the learning curve with its extrapolation, the same method
on emotify's clips, and the VGG checkpoints and the moods compared with and without."""

from __future__ import annotations

import json

import pandas as pd
import pytest


@pytest.mark.slow
def test_the_learning_curve_and_the_inputs_compared(smoke_run):
    limits = json.loads((smoke_run / "crossval" / "limits.json").read_text())
    curve = pd.DataFrame(limits["learning curve"])
    # the smoke profile: sizes 2, 4, 6 and all of a fold's 12 training films, cue and film level
    cue = curve.query("level == 'cue' and learner == 'combined_meandiff'")
    assert cue["size"].astype(str).tolist() == ["2", "4", "6", "all"]
    assert cue["films"].tolist() == [2.0, 4.0, 6.0, 12.0]
    assert set(curve["level"]) == {"cue", "film"}
    auc = curve["macro_roc_auc"]
    assert ((curve["low"] <= auc) & (auc <= curve["high"])).all()
    fits = pd.DataFrame(limits["to reach 0.756 per cue (an extrapolation)"])
    row = fits.iloc[0]
    assert row["curve"] in ("power law a - b n^-c", "log-linear a + b ln n")
    reach = row["films to reach 0.756"]
    assert reach == "inf" or float(reach) > 0  # strict JSON: infinity written as "inf"
    assert 0 <= row["resamples never reaching it"] <= 1
    assert (smoke_run / "figures" / "10_learning_curve.png").is_file()
    # the VGG family against the family without it, nested both ways on the same folds
    vgg = {r["model"] for r in limits["VGG: cue"]}
    assert vgg == {"mfcc_meandiff", "vgg_both_pool5_meandiff", "nested, without VGG",
                   "nested, VGG on offer"}  # fmt: skip
    assert len(limits["VGG: chosen with VGG on offer"]) == 3  # one choice per outer fold
    moods = {r["model"] for r in limits["moods: cue"]}
    assert {"moods_logreg", "nested, moods on offer", "nested, without moods"} <= moods


@pytest.mark.slow
def test_the_method_is_checked_on_emotify_clips(smoke_run, realaudio):
    limits = json.loads((smoke_run / "crossval" / "limits.json").read_text())
    clips = pd.DataFrame(limits["emotify: learning curve"])
    assert set(clips["level"]) == {"cue"}  # a clip is its own group: no second level
    assert clips["size"].astype(str).tolist()[-1] == "all" and "clips" in clips
    fitted = pd.DataFrame(limits["emotify: fitted curves"])
    assert "error predicting the largest size" in fitted and "low" not in fitted
