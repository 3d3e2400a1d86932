"""The benchmarks' own logic, on tables made here (the benchmarks themselves are run by hand)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import power_planning  # noqa: E402
import seed_robustness  # noqa: E402


def claims(verdicts: dict[str, tuple[str, float, bool]]) -> pd.DataFrame:
    return pd.DataFrame([{"claim": claim, "figure": "fig3_7", "panel": "", "metric": "accuracy", "verdict": verdict,
                          "verdict_holm": verdict, "replication": replication, "fragile": fragile}
                         for claim, (verdict, replication, fragile) in verdicts.items()])


def test_seed_robustness_lists_every_change_of_category_and_counts_the_fragile_ones():
    first = claims({"same": ("holds: up", 0.95, False), "lost": ("holds: up", 0.6, True),
                    "gained": ("inconclusive", 0.7, False), "flipped": ("does not hold: down", 0.55, True),
                    "gated": ("inconclusive: needs 9 seeds", 0.8, False)})
    second = claims({"same": ("holds: up", 0.9, False), "lost": ("untestable in this profile: control x", 0.7, False),
                     "gained": ("does not hold: down", 0.6, True), "flipped": ("holds: up", 0.6, True),
                     "gated": ("untestable in this profile: control x", 0.8, False)})
    text = seed_robustness.compare(first, second, ("A", "B"))
    assert ("5 claims × panels: 1 decided in both, the same way; 2 decided in one set only; 1 decided in neither; "
            "1 decided the opposite way.") in text
    assert "Verdicts that change category (3; 2 of them marked fragile in A, which marked 2 of its 3 decided " \
           "verdicts fragile):" in text
    assert "- lost: holds → undecided *fragile*" in text and "- gained: undecided → does not hold" in text
    assert "- flipped: does not hold → holds *fragile*" in text
    assert "gated:" not in text.split("change category")[1]  # undecided both times: no change of category


def test_power_planning_reads_the_spread_of_each_claim_and_the_most_seeds_each_metric_needs():
    from distancing.claims.inference import seeds_needed

    values = {"a": [1.0, 2.0, 3.0, 2.0], "b": [0.5, -0.5, 1.5, 0.5], "c": [0.01, 0.03, 0.02, 0.04],
              "barrier": [0.02, 0.09, 0.05, 0.2]}
    metric = {"a": "accuracy", "b": "accuracy", "c": "nll_calibrated", "barrier": float("nan")}  # a barrier: none
    effect = {"a": 1.0, "b": 1.0, "c": 0.02, "barrier": 0.1}
    table = pd.DataFrame([
        {"claim": claim, "panel": "mobilenetv2", "metric": metric[claim], "n": 4, "effect": effect[claim],
         "unit": "nats" if claim == "barrier" else "", "values": " ".join(map(str, v)),
         "seeds_needed": seeds_needed(float(pd.Series(v).std()), effect[claim])}
        for claim, v in values.items()])
    text = power_planning.plan(table)
    assert f"| b | mobilenetv2 | accuracy | 4 | {pd.Series(values['b']).std():.3g} | 1 | " in text
    most = max(seeds_needed(float(pd.Series(values[k]).std()), 1.0) for k in ("a", "b"))
    barrier = seeds_needed(float(pd.Series(values["barrier"]).std()), 0.1)
    assert text.endswith(f"Most seeds any claim needs: accuracy {most}; nats {barrier}; nll_calibrated "
                         f"{seeds_needed(float(pd.Series(values['c']).std()), 0.02)}.")


def test_power_planning_plans_the_headline_and_the_barrier_claims_only():
    from distancing.plan import load_profiles

    config = load_profiles(default=ROOT / "config.yaml")
    planned = power_planning.headline(config)
    assert {"hill_crosses_a_barrier", "control_independent_networks_behind_error_barrier", "beats_fge",
            "hill_improves_ensemble", "distancing_average_loses"} <= set(planned)
    assert not {"sgdr_beats_fixed_lr", "distance_grows", "ensemble_depends_on_s"} & set(planned)
