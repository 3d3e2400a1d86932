"""Machine learning with distancing: Gaussian hills on stored checkpoints push training away
from where it has already been."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("distancing")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"
