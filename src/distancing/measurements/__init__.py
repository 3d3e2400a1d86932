"""Measurements on stored members: the registry (``registry.py``, which documents an entry) and
the built-in measurements, one module each. Importing this package registers them, and their
statistics with the claims' catalogue; a plugin imports what it needs from here."""

from .registry import (
    MEASUREMENTS,
    Measurement,
    PlanView,
    Reading,
    register,
    roles,
    run_members,
    settings_schema,
    table_frame,
)

# The built-in measurements register themselves, in the order the registry lists them.
# isort: off
from . import barriers  # noqa: E402
from . import plane  # noqa: E402
from . import averages  # noqa: E402
from . import aligned  # noqa: E402
# isort: on

__all__ = ["MEASUREMENTS", "Measurement", "PlanView", "Reading", "register", "roles", "run_members",
           "settings_schema", "table_frame", "barriers", "plane", "averages", "aligned"]
