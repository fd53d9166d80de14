"""A Dask cluster's client, or a clear error within seconds when no scheduler answers."""

from __future__ import annotations

import os

#: seconds to wait for a Dask scheduler to answer before a command fails
SCHEDULER_TIMEOUT_S = float(os.environ.get("FILMGENRE_SCHEDULER_TIMEOUT", "10"))


def dask_client(scheduler: str):
    """A client of the Dask scheduler at ``scheduler`` (not the process's default client: a
    notebook's own client stays its default); a clear ValueError within
    :data:`SCHEDULER_TIMEOUT_S` when none answers there."""
    from distributed import Client

    try:
        return Client(scheduler, timeout=SCHEDULER_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ValueError(
            f"no Dask scheduler answers at {scheduler} within {SCHEDULER_TIMEOUT_S:g} s "
            f"({type(exc).__name__}: {exc}); start one (`dask scheduler`, workers with "
            "`dask worker ADDRESS`) or leave out --scheduler to run on this machine"
        ) from exc
