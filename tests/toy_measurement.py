"""A toy measurement added through the registry, as a researcher's own module would (listed
under ``plugins``, its key under ``measurements``): the L2 norm of every member of Figure 3.7's
runs, read from the stored members with numpy alone, and one statistic on it for a claim."""

import numpy as np

from distancing.claims.catalogue import Evidence, Statistic, register_statistics
from distancing.measurements import Measurement, register, run_members


def member_norms(stored, readings, settings, read):  # noqa: ARG001 (no settings, no other tables)
    """Each member's weight norm, a row per member (the registry's ``compute`` contract)."""
    return {"norms": [dict(reading["about"], run=run, epoch=epoch,
                           norm=float(np.linalg.norm(stored.weight_vector(run, epoch).astype(np.float64))))
                      for reading in readings for run, epoch in reading["members"].values()]}


register(Measurement("member_norms", on="fig3_7", reads=run_members, compute="tests.toy_measurement:member_norms",
                     tables={"norms": ("panel", "series", "seed", "run", "epoch", "norm")}))


def final_norm_excess(e: Evidence, panel: str, metric: str) -> list[float]:  # noqa: ARG001
    """Per seed: the final member's norm, the hill's run − its no-hill twin's."""
    norms = e.table("member_norms", "norms")
    norms = norms[norms["panel"] == panel]
    final = norms.groupby(["series", "seed"])["norm"].last()
    return [float(final[("distancing", seed)] - final[("no_hill", seed)]) for seed in sorted(norms["seed"].unique())]


def norm_statistics() -> dict[str, Statistic]:
    return {"final_norm_hill_vs_twin": Statistic(
        "", "the final member's weight norm, distancing − no hill, paired by seed", "L2",
        "the hill ends with larger weights", "the hill ends with smaller weights", final_norm_excess,
        measurement="member_norms")}


register_statistics(norm_statistics)
