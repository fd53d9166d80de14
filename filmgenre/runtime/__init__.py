"""Where and how work runs, a module a job: process pools for per-file work (``pools``), a
Dask cluster's client (``cluster``), scratch folders (``scratch``), the Keras backend's
devices, precision and seeds (``devices``), and the versions every report records
(``versions``). Callers import the module they need; nothing is re-exported here."""
