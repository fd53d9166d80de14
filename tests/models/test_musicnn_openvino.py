"""musicnn's OpenVINO pass against the Keras port on real recordings: float32 equal to
rounding, bfloat16 within the stated tolerance, for every checkpoint (musicnn and VGG);
which engine runs where; a precision other than the index's rescores the index, recorded in
its meta."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import index_copy

from filmgenre.data.audio import load_audio
from filmgenre.library import store
from filmgenre.models import musicnn, musicnn_openvino
from filmgenre.training import transfer

#: largest difference from Keras float32, as a share of the layer's largest value, that an
#: engine may give on real music: float32 is rounding; bfloat16 keeps 8 bits of mantissa
#: (2^-8 = 0.4%), and a tag probability moves by at most 0.02
RELATIVE_TOLERANCE = {"float32": 1e-5, "bfloat16": 0.03}
#: a VGG's pool5 sits under five 3x3 convolutions of 128 channels, each input rounded to
#: bfloat16: 6% of its largest value on these clips (its tags stay within TAG_TOLERANCE)
VGG_BFLOAT16_TOLERANCE = 0.1
TAG_TOLERANCE = {"float32": 1e-5, "bfloat16": 0.02}

pytestmark = pytest.mark.skipif(not musicnn_openvino.available(),
                                reason="openvino is not installed")  # fmt: skip


@pytest.fixture(scope="module")
def real_patches(realaudio) -> np.ndarray:
    """Three patches of each of eight emotify clips, two of each of four genres."""
    clips = [realaudio / "emotify" / g / f"{n}.mp3"
             for g in ("classical", "rock", "electronic", "pop") for n in (1, 2)]  # fmt: skip
    spec = [musicnn.input_features(load_audio(c, musicnn.SAMPLE_RATE)) for c in clips]
    return np.concatenate([musicnn.patches(s)[:3] for s in spec]).astype(np.float32)


@pytest.mark.parametrize("model", ["MTT_musicnn", "MSD_musicnn", "MTT_vgg", "MSD_vgg"])
def test_openvino_gives_the_keras_layers_within_the_stated_tolerance(model, real_patches):
    reference = [np.asarray(o, np.float32)
                 for o in transfer.embedder(model).predict(real_patches, verbose=0)]  # fmt: skip
    for precision in transfer.PRECISIONS:
        got = musicnn_openvino.compile_pass(model, precision)(real_patches)
        layers = transfer.embedding_layers(model)
        for name, want, have in zip(layers, reference, got, strict=True):
            assert have.shape == want.shape
            gap = np.abs(have - want).max()
            if name == "taggram":
                assert gap <= TAG_TOLERANCE[precision], (model, precision, name, gap)
            relative = gap / np.abs(want).max()
            allowed = RELATIVE_TOLERANCE[precision]
            if precision == "bfloat16" and musicnn.architecture(model) == "vgg":
                allowed = VGG_BFLOAT16_TOLERANCE
            assert relative <= allowed, (model, precision, name, relative)
        top = np.argsort(-reference[0].mean(0))[:5]  # the clips' five strongest tags stay
        assert set(np.argsort(-got[0].mean(0))[:5]) == set(top), (model, precision)


def test_the_engine_is_openvino_on_a_cpu_unless_asked_otherwise(monkeypatch):
    assert transfer.engine() == "openvino"  # installed (a dependency), and no GPU here
    monkeypatch.setenv("FILMGENRE_MUSICNN_ENGINE", "keras")
    assert transfer.engine() == "keras"
    monkeypatch.setenv("FILMGENRE_MUSICNN_ENGINE", "onnx")
    with pytest.raises(ValueError, match="FILMGENRE_MUSICNN_ENGINE='onnx'"):
        transfer.engine()
    with pytest.raises(ValueError, match="unknown precision 'float16'"):
        musicnn_openvino.compile_pass("MTT_musicnn", "float16")


@pytest.mark.slow
def test_a_build_at_another_precision_rescores_the_whole_index(built, library_folder,
                                                                model_dir, tmp_path):  # fmt: skip
    """bfloat16 over a float32 index: every track rescored (none kept from float32), its key
    and the index's meta say so; the same build again changes nothing."""
    from filmgenre.library.ingest import build
    from filmgenre.library.scoring import Scorer

    index_file = index_copy(built, tmp_path)
    con = store.connect(index_file)
    assert store.get_meta(con, "model")["musicnn"] == {"engine": "openvino",
                                                       "precision": "float32"}
    report = build(library_folder, index_file, model_dir, progress=False, precision="bfloat16")
    assert report.rescored == report.tracks == 13 and report.added == 0, report
    con = store.connect(index_file)
    assert store.get_meta(con, "model")["musicnn"]["precision"] == "bfloat16"
    assert Scorer.for_index(store.get_meta(con, "model")).precision == "bfloat16"
    keys = {row[5] for row in store.known_tracks(con).values() if row[1] == "ok"}
    assert len(keys) == 1 and next(iter(keys)).endswith("@bfloat16")
    again = build(library_folder, index_file, model_dir, progress=False, precision="bfloat16")
    assert (again.rescored, again.added, again.redone, again.tracks) == (0, 0, 0, 13), again
    with pytest.raises(ValueError, match="unknown musicnn precision 'int8'"):
        build(library_folder, index_file, model_dir, progress=False, precision="int8")
