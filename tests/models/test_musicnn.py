"""Every checkpoint the musicnn wheel ships (musicnn and VGG, MagnaTagATune and Million Song
Dataset) ported to Keras gives what its authors' own TF-1 graph gives, layer for layer."""

from __future__ import annotations

import numpy as np
import pytest
from support.musicnn_original import TAGGRAM, VGG_POOL5, original_outputs

from filmgenre.data.musicnn_input import PRETRAINED
from filmgenre.models import musicnn
from filmgenre.training import transfer

#: largest difference from the original allowed, relative to the layer's largest value:
#: float32 rounding through a few hundred sums (measured: 1e-6 at most)
RELATIVE_TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def patches() -> np.ndarray:
    """Six patches in the range of musicnn's input (log10(10000 mel + 1) of music is 0-4),
    with time-frequency structure: a random walk over frames on random noise."""
    rng = np.random.default_rng(0)
    shape = (6, musicnn.PATCH_FRAMES, musicnn.N_MELS)
    walk = np.cumsum(rng.normal(0, 0.1, shape), axis=1)
    return np.clip(2 + walk + rng.normal(0, 0.3, shape), 0, 4).astype(np.float32)


@pytest.mark.parametrize("model", sorted(PRETRAINED))
def test_the_port_gives_the_original_graphs_outputs(model, patches):
    pytest.importorskip("tensorflow", reason="the original TF-1 graph runs in TensorFlow")
    try:
        folder = musicnn.checkpoint_dir(model)
    except musicnn.MusicnnUnavailable as exc:
        pytest.skip(str(exc))
    vgg = musicnn.architecture(model) == "vgg"
    wanted = [TAGGRAM, VGG_POOL5] if vgg else [TAGGRAM]
    reference = original_outputs(folder, wanted, patches)
    ours = transfer.embedder(model).predict(patches, verbose=0)
    layers = ["taggram", "pool5"] if vgg else ["taggram", "penultimate", "pool"]
    assert list(transfer.embedding_layers(model)) == layers
    for want, have in zip(reference, ours, strict=False):  # the original's tensors first
        want = want.reshape(len(patches), -1)  # a VGG's pool5 is (n, 2, 1, 128) there
        assert have.shape == want.shape, model
        relative = np.abs(have - want).max() / np.abs(want).max()
        assert relative <= RELATIVE_TOLERANCE, (model, relative)
    # the tags are not saturated on this input: a wrong weight would show
    assert 0.02 < reference[0].std() and reference[0].max() < 0.999, model


def test_each_vgg_checkpoint_pools_as_its_saved_graph_does():
    """The wheel's models.py pools MSD_vgg as MTT_vgg; its saved graph pools 4x in time then
    4x in frequency first. Both reach a 2 x 1 x 128 pool5 from a 3 s patch."""
    assert musicnn.VGG_POOLS["MTT_vgg"][0] == ((4, 1), (2, 2))
    assert musicnn.VGG_POOLS["MSD_vgg"][:2] == (((4, 1), (4, 1)), ((1, 4), (1, 4)))
    for model in ("MTT_vgg", "MSD_vgg"):
        net = musicnn.build_vgg(musicnn.VGG_POOLS[model])
        assert net.get_layer("pool5").output.shape == (None, 256), model
    with pytest.raises(ValueError, match="musicnn checkpoint"):
        musicnn.musicnn_tagger(pretrained="MTT_vgg")
