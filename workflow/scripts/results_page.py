"""Snakemake script: the results page (docs/results.md) from the claims table, every figure's
caption (rendered as the report renders it) and the figures themselves, copied beside the page."""

import json
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pandas as pd

from distancing.files import atomic_write, atomic_write_text
from distancing.results_page import caption_markdown, markdown, page
from distancing.scripts import log_to

snakemake = globals()["snakemake"]
log_to(snakemake.log[0])
table = pd.read_csv(snakemake.input.claims, keep_default_na=False, na_values=["nan"])
tails = json.loads(snakemake.params.captions)
page_folder = Path(snakemake.output.page).parent
figures = []
for png, caption, copy in zip(snakemake.input.figures, snakemake.input.captions, snakemake.output.figures,
                              strict=True):
    name = Path(png).stem
    context = SimpleNamespace(config=snakemake.config, params=SimpleNamespace(caption=tails[name]))
    text = caption_markdown(jinja2.Template(Path(caption).read_text()).render(snakemake=context))
    bold = re.match(r"\*\*(.+?)\.?\*\*\s*", text)  # a caption opens with its title in bold
    title, text = (bold.group(1), text[bold.end():]) if bold else (name, text)
    atomic_write(copy, lambda f, png=png: f.write(Path(png).read_bytes()))
    figures.append((name, title, text, Path(copy).relative_to(page_folder).as_posix()))
atomic_write_text(snakemake.output.page, markdown(page(table, snakemake.params.regime, figures)))
logging.info("%s: %d figures, %d claims", snakemake.output.page, len(figures), len(table))
