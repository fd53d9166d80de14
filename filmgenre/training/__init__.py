"""Training Keras models on a collection: their settings (``settings``), what each model
sees (``inputs``), batches read from the feature caches (``streaming``), augmentation
(``augment``), the training loop (``loop``), tile scores to cue scores (``cue_scores``),
learned poolers over a cue's tiles (``cue_pooling``), musicnn embeddings (``transfer``) and
a run's saved models (``artifacts``). Callers import the module they need; nothing is
re-exported here, so importing a light module (``training.settings``) loads no Keras.
"""
