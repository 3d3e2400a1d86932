"""Where a figure's data come from: one class per kind of source.

A figure names its source by key when it registers (``figures.figure(name, source)``):
``"formula"`` (drawn from equations), ``"runs"`` (learning curves and distances), ``"ensembles"``
(checkpoint ensembles of its runs), ``"peers"`` (the peer-ensemble tables), or the key of a
measurement on stored members (``measurements.MEASUREMENTS``). ``source_of`` turns the key into
one of the classes below, and each knows:

- ``inputs``: the tables its figure's rule reads (``files.Layout`` says where they are);
- ``curves`` and ``ensembles``: what its runs evaluate (per-epoch curves, or members scored on the
  held-out samples for checkpoint ensembles); the plan gives exactly those to its runs' trees;
- ``caption()``: which settings paragraph its caption ends with (``prose.caption_tail``);
- ``category``: its section of the Snakemake report.

No code outside this module compares a source's key. No torch here: the Snakefile imports this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

from .config import ConfigError
from .files import Layout
from .measurements import MEASUREMENTS

Inputs = dict[str, "str | list[str]"]  # a figure rule's named inputs


@dataclass(frozen=True)
class Source:
    """A kind of source; ``key`` is the name a figure registers it by."""

    key: str
    curves: ClassVar[bool] = False  # its runs log per-epoch curves, which the figure draws
    ensembles: ClassVar[bool] = False  # its runs' members are scored for checkpoint ensembles
    category: ClassVar[str] = "Figures"

    def caption(self) -> str:
        """The settings paragraph its caption ends with: "settings" (the training regime), "curves"
        (the regime and how curves are drawn) or "peers" (the peers and their budgets)."""
        return "settings"

    def inputs(self, layout: Layout, runs: list[str]) -> Inputs:
        """The tables the figure's rule reads, given the runs the figure draws."""
        return {}

    def check(self, figure: str, measured: Mapping[str, object]) -> None:
        """Refuse, in one line, a config this source cannot be drawn from (``measured``: the
        config's ``measurements``)."""


@dataclass(frozen=True)
class Analytic(Source):
    """Drawn from the paper's equations: no runs, no tables."""


@dataclass(frozen=True)
class Curves(Source):
    """Learning curves, distances and learning rates of every run the figure draws."""

    curves: ClassVar[bool] = True

    def caption(self) -> str:
        return "curves"

    def inputs(self, layout: Layout, runs: list[str]) -> Inputs:
        return {kind: layout.run_files(runs, kind) for kind in ("metrics", "distances", "learning_rates")}


@dataclass(frozen=True)
class Ensembles(Source):
    """Checkpoint ensembles of the figure's runs: the table the ensembles rule writes."""

    ensembles: ClassVar[bool] = True

    def inputs(self, layout: Layout, runs: list[str]) -> Inputs:
        return {"ensembles": layout.checkpoint_ensembles}


@dataclass(frozen=True)
class Peers(Source):
    """The peer ensembles at one budget (``peers.py``): their tables, whatever the figure's runs."""

    category: ClassVar[str] = "Peers"

    def caption(self) -> str:
        return "peers"

    def inputs(self, layout: Layout, runs: list[str]) -> Inputs:
        return dict(layout.peer_tables)


@dataclass(frozen=True)
class Measured(Source):
    """A measurement on stored members: the tables it writes. Its caption describes the peers
    where the measurement reads the peer ensembles."""

    def inputs(self, layout: Layout, runs: list[str]) -> Inputs:
        return layout.measurement_tables(self.key, MEASUREMENTS[self.key].tables)

    def caption(self) -> str:
        return "peers" if "peer_ensembles" in MEASUREMENTS[self.key].read else "settings"

    def check(self, figure: str, measured: Mapping[str, object]) -> None:
        if self.key not in measured:
            raise ConfigError(f"measurements.{self.key}: the figure {figure} draws this measurement; list it "
                              f"with its settings")


KINDS: dict[str, Source] = {"formula": Analytic("formula"), "runs": Curves("runs"),
                            "ensembles": Ensembles("ensembles"), "peers": Peers("peers")}


def source_of(key: str, figure: str) -> Source:
    """The source a figure registered by key; one line naming the figure if no kind has it."""
    if key in KINDS:
        return KINDS[key]
    if key in MEASUREMENTS:
        return Measured(key)
    raise ConfigError(f"plugins: the figure {figure} draws {key!r}, which is neither a source "
                      f"({', '.join(KINDS)}) nor a registered measurement ({', '.join(MEASUREMENTS)})")
