"""Snakemake script: training loss and validation loss and error on the plane through three
stored members (distancing.basins.plane), BatchNorm recomputed at every point, into
results/basins/<figure>/plane.csv, and the members' coordinates into corners.csv."""

import json
import logging

from distancing.scripts import RunFiles, log_to, run_configs_pinned

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
configs = run_configs_pinned(snakemake.input.configs)  # before torch: the runs' kernels

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from distancing.basins import network, plane  # noqa: E402
from distancing.data import load_dataset  # noqa: E402
from distancing.files import atomic_write_text  # noqa: E402
from distancing.members import load_members  # noqa: E402

torch.set_num_threads(snakemake.threads)
stored = RunFiles(snakemake.input.members)
corners = json.loads(snakemake.params.corners)
members = {run: load_members(stored[run]) for run, _ in corners.values()}
states = {end: members[run].state(members[run].index(epoch)) for end, (run, epoch) in corners.items()}
config = configs[corners["a"][0]]
data = load_dataset(config["data"]["dataset"], config["data"]["root"], config["data"]["train_samples"])
parameters = members[corners["a"][0]].parameters
rows, coordinates = plane(network(config, data), states["a"], states["b"], states["c"], parameters, data,
                          snakemake.params.grid, snakemake.params.samples, config["train"]["eval_batch_size"])
atomic_write_text(snakemake.output.plane, pd.DataFrame(rows).to_csv(index=False))
atomic_write_text(snakemake.output.corners, pd.DataFrame([
    {"member": end, "run": corners[end][0], "epoch": corners[end][1], "x": x, "y": y}
    for end, (x, y) in coordinates.items()]).to_csv(index=False))
logging.info("%d points; members at %s", len(rows), coordinates)
