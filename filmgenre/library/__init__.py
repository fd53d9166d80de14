"""The product: a music library indexed once and searched by the words of a brief, a
weighted genre mix or a reference track, from the command line or a local page.

- ``store``: the index file's one owner (every SQL statement); ``index``: the packed
  arrays queries read (``snapshot``);
- ``query``, ``thesaurus``, ``vocabulary``: the query language and its words;
  ``request``: one search request for both front ends; ``search``: ranking, filters,
  each hit's best segment; ``neighbours``: an approximate graph for very large libraries;
- ``walk``: which files of a folder are indexed, which are left out and why; their tags;
- ``scoring``: the models applied to tracks and segments; ``batch``: a batch of files
  decoded and scored; ``ingest``: the incremental, resumable build; ``cluster``: the same
  on Dask workers;
- ``shortlist``, ``cut``: chosen tracks and stretches of them; ``quality``,
  ``mood_quality``: search quality measured; ``server``: ``filmgenre serve``, the page.

The search path loads no model (NumPy and SQLite only; an import-linter contract holds
it). Callers import the module they need; nothing is re-exported here.
"""
