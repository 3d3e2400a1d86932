"""Snakemake script: every peer ensemble's members averaged in weight space into one network
(distancing.basins.average), BatchNorm recomputed, scored on the samples members are scored on,
beside its ensemble's scores (results/ensembles/peers.csv), into results/basins/weight_averages.csv."""

import json
import logging

from distancing.scripts import RunFiles, log_to, run_configs_pinned

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
configs = run_configs_pinned(snakemake.input.configs)  # before torch: the runs' kernels

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from distancing.basins import average, network, probabilities, recompute_batchnorm  # noqa: E402
from distancing.data import load_dataset  # noqa: E402
from distancing.ensembles import accuracy, calibrated_nll, full_ensembles  # noqa: E402
from distancing.files import atomic_write_text  # noqa: E402
from distancing.members import load_members  # noqa: E402

torch.set_num_threads(snakemake.threads)
stored = RunFiles(snakemake.input.members)
ensembles = full_ensembles(pd.read_csv(snakemake.input.ensembles), "method", "replicate").set_index(
    ["method", "replicate"])
members, datasets, rows = {}, {}, []
for method, peer in json.loads(snakemake.params.peers).items():
    for replicate, spec in enumerate(peer["ensembles"]):
        states, config = [], configs[spec[0][0]]
        for name, epochs in spec:
            members.setdefault(name, load_members(stored[name]))
            if "final" in members[name].kinds:  # a diverged run contributes nothing, as to its ensemble
                states += [members[name].state(members[name].index(epoch)) for epoch in epochs]
        if not states:
            continue
        states = states[:snakemake.params.members]
        data_config = config["data"]
        key = tuple(data_config[k] for k in ("dataset", "root", "train_samples", "ensemble_val_samples"))
        if key not in datasets:
            datasets[key] = load_dataset(*key)
        data = datasets[key]
        model = network(config, data)
        model.load_state_dict(average(states, members[spec[0][0]].parameters))
        inputs = data.prepare(data.x_train[:snakemake.params.samples])
        recompute_batchnorm(model, inputs, config["train"]["eval_batch_size"])
        held_out = data.x_val if data.x_extra is None else torch.cat([data.x_val, data.x_extra])
        labels = (data.y_val if data.y_extra is None else torch.cat([data.y_val, data.y_extra])).numpy()
        probs = probabilities(model, data.prepare(held_out), config["train"]["eval_batch_size"])
        ensemble = ensembles.loc[(method, replicate)]
        rows.append({"method": method, "label": peer["label"], "replicate": replicate, "members": len(states),
                     "accuracy": accuracy(probs, labels), "nll_calibrated": calibrated_nll(probs, labels),
                     "ensemble_accuracy": float(ensemble["accuracy"]),
                     "ensemble_nll_calibrated": float(ensemble["nll_calibrated"])})
        logging.info("%s replicate %d: averaged %.4f against the ensemble's %.4f", method, replicate,
                     rows[-1]["accuracy"], rows[-1]["ensemble_accuracy"])
atomic_write_text(snakemake.output.averages, pd.DataFrame(rows).to_csv(index=False))
