"""Moods learned from listeners: the model (:mod:`.model`, NumPy only), its nested
cross-validation (:mod:`.study`) and the listener-labelled collections it learns from
(:mod:`.collections`). Import from the submodules."""
