"""How much of a paired ensemble comparison's spread over seeds is held-out sampling noise?

    python benchmarks/heldout_noise.py TREE [--project 20000 40000]

TREE is a pipeline folder (its ``config.yaml`` and ``results/``, as ``pipeline_cost.py --keep``
or ``power_planning.py --keep`` leave it). For the primary family's comparisons on Figure 3.7
(the distancing ensemble against one network and against its no-hill twin's ensemble, per
model), per seed: the paired difference d_s on the N held-out samples members are scored on,
and its sampling standard error, the standard deviation of the per-sample differences over √N
(accuracy: correct or not; NLL: the log-probability of the true class, without the temperature
the calibrated NLL fits, whose own noise is small beside it). Over seeds, the variance of d_s is
training noise plus the mean squared sampling error; the table prints both, the sampling share,
and the spread projected at other held-out sizes (the sampling part scales as 1 / N). MNIST-1D's
generator makes fresh held-out sequences for free (``data.ensemble_val_samples``): the more of the
spread is sampling, the more they pay; training noise only more seeds reduce.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import yaml

from distancing.plan import Plan

COMPARISONS = {"single": "one network", "no_hill": "its no-hill twin"}  # Figure 3.7's series against distancing


def per_sample(run: Path) -> tuple[np.ndarray, np.ndarray]:
    """A run's ensemble (the mean of its members' probabilities) on its held-out samples: whether
    each sample is classified correctly, and the log-probability of its true class."""
    with np.load(run / "predictions.npz") as stored:
        probs, labels = stored["probs"].mean(axis=0), stored["labels"]
    return (probs.argmax(1) == labels).astype(float), np.log(probs[np.arange(len(labels)), labels])


def decompose(tree: Path, project: list[int]) -> str:
    config = yaml.safe_load((tree / "config.yaml").read_text())
    runs = tree / Path(config["results"]).name / "runs"  # the tree may have moved since it was run
    panels = Plan(config).figure_runs("fig3_7")
    header = ["model", "against", "metric", "seeds", "held-out N", "paired SD", "sampling SE (RMS)",
              "sampling share of the variance"] + [f"SD at N = {n}" for n in project]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model, panel in panels.items():
        series = panel["series"]
        for key, words in COMPARISONS.items():
            pairs = list(zip(series["distancing"]["runs"], series[key]["runs"], strict=True))
            for metric, index, scale, unit in (("accuracy", 0, 100, "points"), ("NLL", 1, 1, "nats")):
                means, errors = [], []
                for a, b in pairs:
                    d = scale * (per_sample(runs / a)[index] - per_sample(runs / b)[index])
                    means.append(d.mean())
                    errors.append(d.var(ddof=1) / len(d))
                n = len(per_sample(runs / pairs[0][0])[0])
                total, sampling = float(np.var(means, ddof=1)), float(np.mean(errors))
                projected = [math.sqrt(max(total - sampling * (1 - n / m), 0.0)) for m in project]
                lines.append(f"| {model} | {words} | {metric} | {len(pairs)} | {n} | {math.sqrt(total):.3g} {unit} | "
                             f"{math.sqrt(sampling):.3g} | {sampling / total:.0%} | "
                             + " | ".join(f"{p:.3g}" for p in projected) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tree", type=Path)
    parser.add_argument("--project", nargs="*", type=int, default=[20000, 40000])
    args = parser.parse_args()
    print(f"python benchmarks/heldout_noise.py {args.tree}\n")
    print(decompose(args.tree, args.project))


if __name__ == "__main__":
    main()
