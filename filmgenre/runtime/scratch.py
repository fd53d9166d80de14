"""Scratch folders that go away with the process that made them."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path


def scratch_dir(prefix: str) -> Path:
    """A new temporary folder that is deleted when this process exits.

    For scripts and test sessions whose work folders hold gigabytes of decoded audio and
    models: left behind, they filled the disk CI shares. ``FILMGENRE_KEEP_SCRATCH=1`` keeps it.
    """
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    if os.environ.get("FILMGENRE_KEEP_SCRATCH") != "1":
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
