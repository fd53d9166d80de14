"""Final models trained on real film music that ship with the package.

Each folder holds ``model.keras`` and ``config.json`` (what it was trained on, its
cross-validated scores); ``filmgenre tag`` and ``search`` fall back to the best of them
when no run has trained a model on real recordings. Made by notebook 08 on
``../shared/realaudio/filmscore`` (``models/<family>_final`` of that run), copied here.
"""
