"""filmgenre: learn the film genre of soundtrack music.

CNNs on spectrograms against fully-connected baselines, on film-grouped splits.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("filmgenre")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
