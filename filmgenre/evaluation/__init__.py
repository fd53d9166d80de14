"""Scoring models honestly: metrics with film-bootstrap intervals (``metrics``), a run's
evaluation and its ``metrics.json`` (``evaluate``), calibration (``calibration``) and
film-grouped cross-validation with nested selection and final models (``crossval``)."""
