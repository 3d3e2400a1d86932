"""Snakemake script: one measurement on stored members (distancing.measurements), its tables
into results/measurements/<key>/<table>.csv with the columns its entry declares."""

import importlib
import json
import logging

from distancing.scripts import RunFiles, log_to, run_configs_pinned

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
configs = run_configs_pinned(snakemake.input.configs)  # before torch: the runs' kernels

import torch  # noqa: E402

from distancing.files import atomic_write_text  # noqa: E402
from distancing.measurements import MEASUREMENTS, table_frame  # noqa: E402
from distancing.members import Stored  # noqa: E402
from distancing.plan import import_plugins  # noqa: E402

torch.set_num_threads(snakemake.threads)
import_plugins(snakemake.config)  # a plugin's measurements
measurement = MEASUREMENTS[snakemake.params.measurement]
module, function = measurement.compute.split(":")
compute = getattr(importlib.import_module(module), function)
read = {name: snakemake.input[name] for name in measurement.read}
tables = compute(Stored(RunFiles(snakemake.input.members), configs), json.loads(snakemake.params.readings),
                 json.loads(snakemake.params.settings), read)
for table in measurement.tables:
    frame = table_frame(measurement, table, tables[table])
    atomic_write_text(snakemake.output[table], frame.to_csv(index=False))
    logging.info("%s: %d rows", table, len(frame))
