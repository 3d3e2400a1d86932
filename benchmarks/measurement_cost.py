"""What one point of a measurement on stored members costs, and what would make it cheaper.

    python benchmarks/measurement_cost.py [--points 12] [--rounds 3] [--configfile config.yaml]

A point of a line or a plane (``basins.scored_point``) loads a mixed state, recomputes every
BatchNorm layer's statistics in one pass over ``samples`` training inputs (train mode), then
evaluates the training loss on them and the validation loss and error (evaluation mode). For
each model of the profile's basins figure, at the profile's ``measurements.barriers`` settings
and evaluation batch size, under portable numerics and one thread as the pipeline's measurement
jobs run, this times ``--points`` points of a line between two freshly initialised networks
(what a point costs does not depend on the weights) in each of ``--rounds`` rounds:

- the two parts of a point, the BatchNorm pass and the two evaluations, eager and through the
  compiled forward pass the measurements use where the runs compiled (``basins.forward_pass``:
  ``compiled.logits_of``, Inductor's code; compiled once before the rounds, its cost printed);
- the rate at which a point pushes samples through the network (a BatchNorm pass and two
  evaluations: 3 × ``samples`` forward passes when the validation split has as many), beside
  the rate of the same network's eager training step (forward and backward, one batch of the
  profile's size, counted as 3 forward passes a sample).

Medians over rounds. The last line counts the profile's readings (lines, planes, averaged
networks) that pay for points.
"""

from __future__ import annotations

import argparse
import statistics

from machine import note as machine_note

from distancing.numerics import pin

pin("portable")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from distancing import compiled  # noqa: E402
from distancing.basins import blend, loss_and_error, network, recompute_batchnorm, scoring_inputs  # noqa: E402
from distancing.data import load_dataset  # noqa: E402
from distancing.outputs import cpu_seconds  # noqa: E402
from distancing.plan import Plan, load_profiles  # noqa: E402


def states(config: dict, data) -> tuple[dict, dict, tuple[str, ...]]:
    """Two freshly initialised networks' states as arrays, and the parameter names."""
    pair = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        pair.append({k: v.detach().numpy().copy() for k, v in network(config, data).state_dict().items()})
    parameters = tuple(name for name, _ in network(config, data).named_parameters())
    return pair[0], pair[1], parameters


def step_rate(config: dict, data, steps: int = 40) -> float:
    """Eager training steps per CPU-second of the profile's batch (forward, loss, backward)."""
    model = network(config, data).train()
    batch = config["train"]["batch_size"]
    x, y = data.prepare(data.x_train[:batch]), data.y_train[:batch]
    for _ in range(5):
        F.cross_entropy(model(x), y).backward()
    start = cpu_seconds()
    for _ in range(steps):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
    return steps / (cpu_seconds() - start)


def measure(config: dict, points: int, rounds: int, samples: int) -> dict[str, float]:
    data = load_dataset(*(config["data"][k] for k in ("dataset", "root", "train_samples", "ensemble_val_samples")))
    a, b, parameters = states(config, data)
    model, batch = network(config, data), config["train"]["eval_batch_size"]
    (train_x, train_y), (val_x, val_y) = scoring_inputs(data, samples)
    forwards = {"eager": compiled.logits_of, "compiled": compiled.steps(True, torch.device("cpu"))[1]}
    started = cpu_seconds()
    model.load_state_dict(blend(a, b, 0.5, parameters))
    # Compiles a point's graphs (Inductor's cache may hold them), the C++ compiler's processes counted.
    recompute_batchnorm(model, train_x, batch, forwards["compiled"])
    loss_and_error(model, val_x, val_y, batch, forwards["compiled"])
    compile_cpu = cpu_seconds() - started
    found: dict[str, list[float]] = {f"{part} {mode}": [] for mode in forwards for part in ("batchnorm", "evaluations")}
    for _ in range(rounds):
        for mode, forward in forwards.items():
            spent = {"batchnorm": 0.0, "evaluations": 0.0}
            for t in np.linspace(0.0, 1.0, points):
                model.load_state_dict(blend(a, b, float(t), parameters))
                start = cpu_seconds()
                recompute_batchnorm(model, train_x, batch, forward)
                middle = cpu_seconds()
                loss_and_error(model, train_x, train_y, batch, forward)
                loss_and_error(model, val_x, val_y, batch, forward)
                spent["batchnorm"] += middle - start
                spent["evaluations"] += cpu_seconds() - middle
            for part, total in spent.items():
                found[f"{part} {mode}"].append(total / points)
    median = {key: statistics.median(values) for key, values in found.items()}
    return median | {"compile": compile_cpu, "forwards": len(train_x) * 2 + len(val_x),
                     "step_rate": step_rate(config, data), "batch": config["train"]["batch_size"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--configfile", default="config.yaml")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(machine_note(), end="\n\n")
    plan = Plan(load_profiles(args.configfile))
    samples = plan.config["measurements"]["barriers"]["samples"]
    counts = {name: sum(1 for _ in plan.readings(name)) for name in plan.config["measurements"]}
    print(f"python benchmarks/measurement_cost.py --points {args.points} --rounds {args.rounds} "
          f"--configfile {args.configfile}: a point's BatchNorm pass and evaluations on {samples} training inputs "
          f"and the validation split, medians of {args.rounds} rounds of {args.points} points\n")
    print("| model | BatchNorm pass, eager CPU-s | BatchNorm pass, compiled CPU-s | evaluations, eager CPU-s "
          "| evaluations, compiled CPU-s | point, eager CPU-s | point, compiled ÷ eager "
          "| forward passes per CPU-s, an eager point | forward passes per CPU-s, an eager training step "
          "| compiling a point's graphs, CPU-s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    models = plan.config["experiments"]["basins"]["models"]
    for name in models:
        config = plan.builder.run_config(plan.builder.single_network(name))
        m = measure(config, args.points, args.rounds, samples)
        eager, faster = (m[f"batchnorm {mode}"] + m[f"evaluations {mode}"] for mode in ("eager", "compiled"))
        print(f"| {name} | {m['batchnorm eager']:.4f} | {m['batchnorm compiled']:.4f} | {m['evaluations eager']:.4f} | "
              f"{m['evaluations compiled']:.4f} | {eager:.4f} | {faster / eager:.2f} | {m['forwards'] / eager:.0f} | "
              f"{3 * m['batch'] * m['step_rate']:.0f} | {m['compile']:.1f} |")
    print("\nMeasurement readings in this profile (lines, planes, averages): "
          + ", ".join(f"{key} {n}" for key, n in counts.items()))


if __name__ == "__main__":
    main()
