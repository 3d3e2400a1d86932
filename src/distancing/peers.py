"""The ensemble methods compared at one training budget: one registry entry per method.

An entry gives the method's key (its data key in ``peers.csv`` and the claims), a display
label, and how one replicate's ensemble of a model (each of ``peers.models``) is built: its runs
(a run may start from another, see ``Run.init_from``) and the epochs of its members, the final
model first. The budget each ensemble spends is counted from its runs (``plan.Plan.peer_budget``),
so it is never declared by hand. Adding a method is one ``register(Peer(...))``, here or in a module listed
under ``plugins`` in the config (its settings, if any, a JSON schema in its entry: the config
schema takes ``peers.<key>`` from it); its claims are the generated statistics
``peers_<key>_vs_single`` and, for each method under test (the weight-space and the
function-space hill), ``peers_<tested>_vs_<key>`` (``claims.statistics``).
No torch here: the Snakefile imports this.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import ConfigError
from .runs import Run, RunBuilder, number

Members = list[tuple[Run, tuple[int, ...]]]


@dataclass(frozen=True)
class Peer:
    """One ensemble method. ``members(e, model, replicate, seed)`` builds one replicate's ensemble
    of that model; ``control`` names the method whose own "beats one network" qualifies a win of a method under
    test (``compared``: the two hills) over this one: a win over a method that cannot beat one
    network is noted (claims/verdicts.py: a qualifier, never a gate; None: no such check)."""

    key: str
    label: Callable[[RunBuilder], str]  # the legend and table text, with the method's settings
    members: Callable[[RunBuilder, str, int, int], Members]
    control: str | None = None
    noun: str = ""  # what the claims' verdicts call it ("the snapshot ensemble"); default: the key
    compared: bool = False  # a method under test: the claims compare it with every other peer ...
    subject: str = ""  # ... and their verdicts name it so ("distancing beats FGE")
    settings: Mapping[str, Any] = field(default_factory=dict)  # JSON schema of peers.<key>, all required

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": False, "required": list(self.settings),
                "properties": dict(self.settings)}

    @property
    def called(self) -> str:
        return self.noun or self.key


PEERS: dict[str, Peer] = {}


def register(peer: Peer) -> Peer:
    if peer.key in PEERS:
        raise ValueError(f"peer {peer.key!r} is registered twice")
    PEERS[peer.key] = peer
    return peer


def settings_schema() -> dict[str, Any]:
    """The schema of each registered peer's settings (``peers.<key>``), for the config schema."""
    return {key: peer.schema() for key, peer in PEERS.items() if peer.settings}


def _epochs(e: RunBuilder) -> int:
    return e.defaults["epochs"]


def _deep_seeds(e: RunBuilder, replicate: int) -> list[int]:
    """Replicate i's deep ensemble: seeds i·M … i·M + M − 1 (disjoint sets)."""
    M = e.config["peers"]["members"]
    return [e.seeds[0] + replicate * M + j for j in range(M)]


def _hill(e: RunBuilder, model: str, seed: int) -> Run:
    """The peers' distancing run: checkpoints at the base schedule's last M − 1 cycle ends."""
    return e.distancing(model, checkpoints=e.member_checkpoints(), seed=seed)


def _function_hill(e: RunBuilder, model: str, seed: int) -> Run:
    """The same run with the hill on the checkpoints' predictions instead of their weights."""
    return e.function_distancing(model, checkpoints=e.member_checkpoints(), seed=seed)


def _cycles(e: RunBuilder) -> tuple[int, ...]:
    """The final model, then the cycle ends newest first."""
    return (_epochs(e), *reversed(e.member_checkpoints()))


register(Peer("single", lambda e: f"single network, {_epochs(e)} epochs",
              lambda e, model, i, seed: [(e.single_network(model, seed=seed), (_epochs(e),))], noun="one network"))
register(Peer("distancing", lambda e: f"distancing (s = {number(e.reference['strength'])}, σ² = "
              f"{number(e.reference['sigma2'])}): final + checkpoints at epochs "
              + ", ".join(map(str, e.member_checkpoints())),
              lambda e, model, i, seed: [(_hill(e, model, seed), _cycles(e))], control="snapshot",
              noun="the distancing ensemble", compared=True, subject="distancing"))
register(Peer("function", lambda e: f"function-space hill (s = {number(e.reference['function']['strength'])}, "
              f"σ_f² = {number(e.reference['function']['sigma2'])}): final + checkpoints at epochs "
              + ", ".join(map(str, e.member_checkpoints())),
              lambda e, model, i, seed: [(_function_hill(e, model, seed), _cycles(e))], control="snapshot",
              noun="the function-space hill's ensemble", compared=True, subject="the function-space hill"))
register(Peer("snapshot", lambda e: "snapshot ensemble: final + cycle ends at epochs "
              + ", ".join(map(str, e.member_checkpoints())),
              lambda e, model, i, seed: [(e.control(_hill(e, model, seed)), _cycles(e))], control="snapshot",
              noun="the snapshot ensemble"))


def _deep(e: RunBuilder, model: str, i: int, epochs: int) -> Members:
    run = {"epochs": epochs} if epochs != _epochs(e) else {}
    return [(e.single_network(model, seed=s, **run), (epochs,)) for s in _deep_seeds(e, i)]


def _M(e: RunBuilder) -> int:
    return e.config["peers"]["members"]


register(Peer("deep_equal_budget", lambda e: f"deep ensemble, {_M(e)} × {_epochs(e) // _M(e)} epochs (equal budget)",
              lambda e, model, i, seed: _deep(e, model, i, _epochs(e) // _M(e)), control="deep_equal_budget",
              noun="the equal-budget deep ensemble"))
register(Peer("deep_m_budget", lambda e: f"deep ensemble, {_M(e)} × {_epochs(e)} epochs ({_M(e)} × budget)",
              lambda e, model, i, seed: _deep(e, model, i, _epochs(e)), control="deep_m_budget",
              noun="the deep ensemble at M × budget"))


# ---------------------------------------------------------------- Fast Geometric Ensembling

def fge_settings(e: RunBuilder) -> dict[str, Any]:
    if "fge" not in e.config["peers"]:
        raise ConfigError("peers.fge: the peer fge needs its settings (from, lr, min_lr, cycle_epochs)")
    f = e.config["peers"]["fge"]
    if not f["min_lr"] < f["lr"]:
        raise ConfigError(f"peers.fge.min_lr: must be below peers.fge.lr ({f['lr']:g}), got {f['min_lr']:g}")
    return f


def fge_start(e: RunBuilder) -> int:
    """FGE spends the last M cycles of the budget: it starts from its parent after E − M·c epochs."""
    return _epochs(e) - _M(e) * fge_settings(e)["cycle_epochs"]


_BUILDING: list[str] = []  # the peers whose members are being built, outermost first


def members_of(e: RunBuilder, key: str, model: str, i: int, seed: int, needed_by: str) -> Members:
    """Another peer's members, for a peer whose runs start from them; a cycle stops in one line."""
    if key not in PEERS:
        raise ConfigError(f"peers.{needed_by}.from: unknown peer {key!r}; registered: {', '.join(PEERS)}")
    if key in _BUILDING or key == needed_by:
        path = _BUILDING[_BUILDING.index(key):] if key in _BUILDING else [needed_by]
        chain = " → ".join([*path, key])
        raise ConfigError(f"peers.{needed_by}.from: the peers start from each other in a cycle ({chain})")
    _BUILDING.append(key)
    try:
        return PEERS[key].members(e, model, i, seed)
    finally:
        _BUILDING.pop()


def fge_parent(e: RunBuilder, model: str, i: int, seed: int) -> Run:
    """The run FGE starts from: the first run of the peer ``peers.fge.from`` in this replicate
    (with its own seed: the snapshot run's is the replicate's)."""
    return members_of(e, fge_settings(e)["from"], model, i, seed, needed_by="fge")[0][0]


def fge_members(e: RunBuilder, model: str, i: int, seed: int) -> Members:
    """Garipov et al. 2018: from a trained network, a cyclical learning rate between lr₁ and lr₂
    in cycles of c epochs, with the momentum carried over; a member at each cycle's minimum.
    M cycles end exactly at the budget E; the members are the M minima, newest first."""
    f, M = fge_settings(e), _M(e)
    c, start = f["cycle_epochs"], fge_start(e)
    if start < 1:
        raise ConfigError(f"peers.fge.cycle_epochs: {M} cycles of {c} epochs do not fit in the budget of "
                          f"{_epochs(e)} epochs (base.train.epochs)")
    parent = fge_parent(e, model, i, seed)
    reached = e.run_config(parent)["train"]["epochs"]
    if start > reached:
        raise ConfigError(f"peers.fge.from: FGE starts after epoch {start} of the {f['from']} run, which trains "
                          f"{reached} epochs")
    run = Run(model, schedule="fge", lr=f["lr"], min_lr=f["min_lr"], restart_epochs=c, epochs=M * c,
              init_from=(parent, start), seed=parent.seed)
    return [(run, tuple(reversed(range(c // 2, M * c, c))))]


register(Peer("fge", lambda e: (f"FGE from epoch {fge_start(e)} of the {fge_settings(e)['from']} run: "
                                f"{_M(e)} cycles of {fge_settings(e)['cycle_epochs']} epochs, learning rate "
                                f"{number(fge_settings(e)['lr'])} to {number(fge_settings(e)['min_lr'])}"),
              fge_members, control="fge", noun="FGE",
              settings={"from": {"type": "string", "description": "the peer whose run FGE starts from"},
                        "lr": {"type": "number", "exclusiveMinimum": 0, "description": "lr1, the cycle's highest"},
                        "min_lr": {"type": "number", "exclusiveMinimum": 0,
                                   "description": "lr2, its lowest (where members are taken)"},
                        "cycle_epochs": {"type": "integer", "minimum": 2, "multipleOf": 2,
                                         "description": "the cycle length (even)"}}))
