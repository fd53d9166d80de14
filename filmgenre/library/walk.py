"""Walking a music library and reading its tags: which files are audio to index, which are
left out and why (other extensions, links that lead outside the library, broken links), and
each track's title, artist, album, number and duration from its tags (mutagen)."""

from __future__ import annotations

import os
from pathlib import Path

from ..data.audio import is_audio_file


def read_tags(path: Path) -> dict:
    """Title, artist, album, track number and duration from the file's tags (mutagen);
    missing tags stay empty, the title falls back to the file name."""
    import mutagen

    out = {"title": None, "artist": None, "album": None, "track_number": None,
           "duration": None}  # fmt: skip
    try:
        tags = mutagen.File(path, easy=True)
    except Exception:  # a file mutagen cannot parse still has audio the decoder may read
        tags = None
    if tags is not None:
        for key in ("title", "artist", "album"):
            values = tags.get(key) if hasattr(tags, "get") else None
            if values:
                out[key] = str(values[0])
        number = tags.get("tracknumber") if hasattr(tags, "get") else None
        if number:
            try:
                out["track_number"] = int(str(number[0]).split("/")[0])
            except ValueError:
                pass
        if getattr(tags, "info", None) is not None and getattr(tags.info, "length", None):
            out["duration"] = float(tags.info.length)
    out["title"] = out["title"] or path.stem
    return out


def walk(root: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Audio files under ``root`` (any depth, hidden files left out) and the files skipped
    with why: other extensions, and links that lead outside the library."""
    files, skipped = [], []
    for folder, dirs, names in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for d in list(dirs):
            if (Path(folder) / d).is_symlink():
                target = (Path(folder) / d).resolve()
                if not target.is_relative_to(root):
                    skipped.append((Path(folder) / d, "a link to a folder outside the library"))
                    dirs.remove(d)
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = Path(folder) / name
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                skipped.append((path, "a link to a file outside the library (never indexed "
                                      "or served)"))  # fmt: skip
            elif not is_audio_file(path):
                skipped.append((path, f"not an audio file extension ({path.suffix or 'none'})"))
            elif not path.resolve().is_file():
                skipped.append((path, "a broken link"))
            else:
                files.append(path)
    return files, skipped

