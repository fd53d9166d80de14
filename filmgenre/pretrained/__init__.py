"""Final models trained on real film music that ship with the package.

Each folder holds ``model.keras`` and ``config.json`` (what it was trained on, its
cross-validated scores, its calibration); ``filmgenre tag``, ``search`` and ``index build``
fall back to the best of them when no run has trained a model on real recordings.
``filmscore_combined_meandiff`` is made by ``scripts/train_shipped_model.py`` from
``../shared/realaudio/filmscore``: the steps of the real profile's notebook 08 for that
family (film-grouped 5-fold cross-validation repeated 3 times, per-genre Platt calibration
on the out-of-fold scores, the final model on every film with the map folded in).
"""
