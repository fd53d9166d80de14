"""Where an index's build stands (``index info``): the build records its progress in the
index's meta table at every committed chunk (``build``: state, process, host, files to do
and done, when it started and last committed), and this reads it back in words."""

from __future__ import annotations

import os
import socket
import sqlite3

from . import store


def build_line(con: sqlite3.Connection) -> str | None:
    """Where the last build stands, in a line: running (with its rate and the time left),
    interrupted (with how many files are still to do), or done; None before any build."""
    state = store.get_meta(con, "build")
    if not state:
        return None
    total, done = int(state.get("total", 0)), int(state.get("done", 0))
    if state.get("state") == "done":
        return f"last build: {total} file(s) to do, done in {state.get('seconds', 0):.0f} s"
    left = total - done
    here = state.get("host") == socket.gethostname()
    alive = False
    if here:
        try:
            os.kill(int(state["pid"]), 0)
            alive = True
        except (ProcessLookupError, ValueError, KeyError):
            alive = False
        except PermissionError:
            alive = True
    if here and not alive:
        return (f"build interrupted: {done} of {total} file(s) done, {left} still to do; "
                "run `filmgenre index build` again to resume")  # fmt: skip
    elapsed = float(state.get("updated", state.get("started", 0))) - float(state.get("started", 0))
    rate = done / elapsed if done and elapsed > 0 else None
    pace = (f", {rate:.2f} tracks/s, about {_duration(left / rate)} left" if rate else "")
    where = f"process {state.get('pid')}" + ("" if here else f" on {state.get('host')}")
    return f"build running ({where}): {done} of {total} file(s) done{pace}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
