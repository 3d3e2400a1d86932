"""Snakemake script: the loss on the straight line between each pair of members a barriers
figure declares (distancing.basins), BatchNorm recomputed at every point, into
results/basins/<figure>/paths.csv (a row per point) and barriers.csv (a row per pair)."""

import json
import logging

from distancing.scripts import RunFiles, log_to, run_configs_pinned

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
configs = run_configs_pinned(snakemake.input.configs)  # before torch: the runs' kernels

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from distancing.basins import PATH_COLUMNS, barrier, line, network  # noqa: E402
from distancing.data import load_dataset  # noqa: E402
from distancing.files import atomic_write_text  # noqa: E402
from distancing.members import load_members  # noqa: E402

torch.set_num_threads(snakemake.threads)
stored = RunFiles(snakemake.input.members)
members, datasets, paths, barriers = {}, {}, [], []
for pair in json.loads(snakemake.params.pairs):
    (a_run, a_epoch), (b_run, b_epoch) = pair["a"], pair["b"]
    config = configs[a_run]
    data_config = config["data"]
    key = (data_config["dataset"], data_config["root"], data_config["train_samples"])
    if key not in datasets:
        datasets[key] = load_dataset(*key)
    for run in (a_run, b_run):
        if run not in members:
            members[run] = load_members(stored[run])
    a, b = members[a_run], members[b_run]
    state_a, state_b = a.state(a.index(a_epoch)), b.state(b.index(b_epoch))
    model = network(config, datasets[key])
    rows = line(model, state_a, state_b, a.parameters, datasets[key], snakemake.params.points,
                snakemake.params.samples, config["train"]["eval_batch_size"])
    about = {"panel": pair["panel"], "series": pair["series"], "seed": pair["seed"], "a_run": a_run,
             "a_epoch": a_epoch, "b_run": b_run, "b_epoch": b_epoch}
    paths += [dict(about, point=i, **row) for i, row in enumerate(rows)]
    t = [row["t"] for row in rows]
    w_a, w_b = a.weight_vector(a.index(a_epoch)), b.weight_vector(b.index(b_epoch))
    barriers.append(dict(about, weight_distance=float(np.linalg.norm(w_a.astype(np.float64) - w_b)),
                         **{f"{column}_barrier": barrier(t, [row[column] for row in rows])
                            for column in PATH_COLUMNS[1:]}))
    logging.info("%s %s seed %d: %s", pair["panel"], pair["series"], pair["seed"],
                 ", ".join(f"{k} {v:.4f}" for k, v in barriers[-1].items() if k.endswith("_barrier")))
atomic_write_text(snakemake.output.paths, pd.DataFrame(paths).to_csv(index=False))
atomic_write_text(snakemake.output.barriers, pd.DataFrame(barriers).to_csv(index=False))
