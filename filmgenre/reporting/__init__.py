"""What a person reads: the papermill pipeline and its profiles (``pipeline``), a run's
front page and the list of runs (``report``, ``runs``), what notebooks show (``display``)
and figures (``plots``)."""
