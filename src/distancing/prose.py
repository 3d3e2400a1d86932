"""The report's prose about the plan: the training regime of the opening page and the settings
paragraph every figure's caption ends with. Generated from the plan, never typed, so a profile's
settings reach every caption. No torch here: the Snakefile imports this.
"""

from __future__ import annotations

from .peers import PEERS
from .plan import Plan


def schedule_words(plan: Plan) -> str:
    """The base schedule in words (the report's regime and every caption's settings paragraph)."""
    t = plan.builder.defaults
    if t["schedule"] == "cosine_restarts":
        return (f"a first cosine cycle of {t['first_cycle_epochs']} epochs, then warm restarts every "
                f"{t['restart_epochs']} epochs" if t["first_cycle_epochs"]
                else f"cosine decay with warm restarts every {t['restart_epochs']} epochs")
    return f"a {t['schedule']} learning rate"


def regime(plan: Plan) -> str:
    """The base training regime in words (the report's opening page)."""
    data, t = plan.builder.resolve_base()["data"], plan.builder.defaults
    return (f"{data['dataset']} with {data['train_samples'] or 'all'} training samples; {t['epochs']} epochs of "
            f"SGD ({t['optimizer']}), batch {t['batch_size']}, learning rate {t['lr']:g} with "
            f"{schedule_words(plan)}, weight decay {t['weight_decay']:g}; models "
            f"{', '.join(used_models(plan))}; seeds "
            f"{', '.join(map(str, plan.seeds))} (each figure as many as its claims declare); ensembles of "
            f"{plan.config['peers']['members']} members, checkpoints after epochs "
            f"{', '.join(map(str, plan.builder.reference['checkpoints']))}.")


def used_models(plan: Plan) -> list[str]:
    """The models some run trains (a profile's ``models`` may keep others merged from config.yaml)."""
    used = {config["model"]["name"] for config in plan.runs().values()}
    return [name for name, block in plan.builder.models.items() if block.get("name", name) in used]


def caption_tail(plan: Plan, figure: str) -> str:
    """The settings paragraph every figure's caption ends with (``snakemake.params.caption``)."""
    data, t = plan.builder.resolve_base()["data"], plan.builder.defaults
    seeds = ", ".join(map(str, plan.seeds))
    paragraph = plan.figures()[figure].source.caption()  # sources.py
    if paragraph == "peers":
        p = plan.config["peers"]
        methods = "; ".join(f"{PEERS[key].label(plan.builder)} ({plan.peer_budget(key, p['models'][0])} epochs)"
                            for key in p["methods"])
        return (f"Methods, each with its training budget in epochs: {methods}. Models: {', '.join(p['models'])} "
                f"(each its own panels, its own peers and controls); data: "
                f"{data['dataset']} ({data['train_samples'] or 'all'} training samples); replicates as many as "
                f"the peer claims declare (the n column of results/claims.csv); deep ensembles use disjoint "
                f"seed sets.")
    models = "; ".join(model_words(plan, name) for name in used_models(plan))
    text = (f"Data: {data['dataset']} ({data['train_samples'] or 'all'} training samples), {t['epochs']} epochs "
            f"of SGD with momentum {t['momentum']:g}, learning rate {t['lr']:g}, weight decay "
            f"{t['weight_decay']:g}, {schedule_words(plan)} unless stated. Models: {models}. Seeds: as many of "
            f"{seeds} as the claims on this figure declare (the n column of results/claims.csv)")
    if paragraph == "curves":
        text += ("; curves are the mean over seeds with a band of one standard deviation; a cross marks where "
                 "a diverged run ended")
    return text + "."


def model_words(plan: Plan, name: str) -> str:
    """A named model of ``models`` in words: its network and the options the profile sets."""
    block = plan.builder.models[name]
    network = block.get("name", name)
    options = ", ".join(f"{key.replace('_', ' ')} {value}" for key, value in block.get(network, {}).items())
    return f"{name}, the {network}{f' with {options}' if options else ''}"
