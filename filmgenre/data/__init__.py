"""From audio files to cached features: decoding and validation (``audio``), manifests and
film-grouped splits (``dataset``), building a collection (``build``), the embedded synthetic
collection (``synth``), log-mel/MFCC (``features``), musicnn's input spectrogram
(``musicnn_input``) and music-information features (``mir``).

Nothing here imports Keras or TensorFlow: process-pool workers import these modules.
"""
