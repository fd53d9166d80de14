"""Keras 3 models, a module each (backend-agnostic, every builder returns an uncompiled
model): the study's CNN (``cnn``), fully-connected baselines (``dense``), modern CNNs
(``modern``), learned poolers over a cue's tiles (``poolers``), the musicnn tagger ported
with its pretrained weights (``musicnn``), custom layers and losses (``layers``,
``losses``), and every model by name (``registry``). Inputs are standardised inside the
model by a ``Normalization`` layer adapted on training data, so a saved model carries its
own preprocessing. Callers import the module they need; nothing is re-exported here.
"""
