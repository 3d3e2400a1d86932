"""What a run decided, written from its claims table (never typed): one text, two renderings.

``page`` is the results page (``docs/results.md``): the verdicts in words, then every figure
with its caption, the numbers its claims rest on and their verdicts. ``opening`` is the page's
first part and, rendered in reStructuredText, the report's opening page (``summary.rst``). A
text is a list of blocks, ``(kind, content)``: ``title``, ``heading``, ``paragraph``,
``bullets`` (a list of lines), ``image`` (alt text, path) and ``table`` (header, rows). Inline
markup is Markdown's (`code`, *emphasis*, **strong**); ``rst`` converts it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from .claims.inference import ROBUST
from .claims.verdicts import decided

Block = tuple[str, Any]
VERDICT_GROUPS = (("holds", "What holds"), ("does not hold", "What does not hold"),
                  ("inconclusive", "Not decided: the interval contains the threshold"),
                  ("untestable", "Untestable in this profile: a control the claim rests on is not shown to hold"))


def number(x: float) -> str:
    return "nan" if pd.isna(x) else f"{x:+.3g}"


def where(r: Any) -> str:
    return f"{r.figure}, {r.panel}" if r.panel and r.panel != r.figure else r.figure


def seeds_text(seeds: float) -> str:
    """``seeds_robust`` in words: claims.seeds_robust stops counting at 1000 (an effect on the threshold)."""
    return "" if pd.isna(seeds) else "over 999" if seeds >= 1000 else str(int(seeds))


def replication_words(r: Any) -> str:
    """The verdict's replication: its probability, *fragile* where a decided verdict is below ROBUST."""
    if pd.isna(r.replication):
        return "no replication estimate (fewer than two values)"
    seeds = "" if pd.isna(r.seeds_robust) else f"; {seeds_text(r.seeds_robust)} seeds for a robust verdict"
    fragile = "*fragile*: " if r.fragile else ""
    return f"{fragile}a replication agrees with probability {r.replication:.2f}{seeds}"


def sentence(r: Any) -> str:
    """One claim and panel in words: what was claimed, what the data show, how sure a replication is."""
    detail = r.verdict.split(": ", 1)[1] if ": " in r.verdict else ""
    detail = "" if detail in ("", r.claimed.split(", in ")[0]) else f" ({detail})"
    note = f"; {r.note}" if r.note else ""
    return (f"`{r.claim}` ({where(r)}), {r.claimed}: {number(r.mean)} {r.unit}, 95 % interval "
            f"[{number(r.ci95_low)}, {number(r.ci95_high)}], n = {r.n}{detail}; {replication_words(r)}{note}.")


def opening(table: pd.DataFrame, regime: str) -> list[Block]:
    """What the pipeline tests, in which regime, and what the claims decided, claim by claim."""
    fragile = int(table["fragile"].sum())
    settled = int(table["verdict"].map(decided).sum())
    blocks: list[Block] = [
        ("title", "Machine learning with distancing: what this run decided"),
        ("paragraph", "After a checkpoint of the network's parameters is stored, a Gaussian hill centred on it is "
                      "added to the loss, so training moves away from where it has already been. The pipeline "
                      "trains baselines and distancing runs, each paired with a no-hill twin of the same schedule "
                      "and seed, builds ensembles from their checkpoints and their peers at equal training budget, "
                      "and tests the paper's claims, declared before the run. Everything below is generated from "
                      "`results/claims.csv`; nothing is typed."),
        ("paragraph", f"Regime: {regime}"),
        ("paragraph", f"{len(table)} claims (a claim per panel and metric). Each is decided by its 95 % t-interval "
                      "over seeds. A control gates a claim only where its failure would explain the claim's null "
                      "(`src/distancing/claims/verdicts.py`): an undecided claim resting on a control not shown to "
                      "hold is "
                      "untestable, a decided one stands with a note. Each verdict carries the probability that an "
                      "independent replication with as many seeds reaches the same verdict; "
                      f"{fragile} of the {settled} decided verdicts are *fragile* (below {ROBUST:g}). "
                      "Family-wise (Holm, over every row): "
                      + ", ".join(f"{key} {table['verdict_holm'].str.startswith(key).sum()}"
                                  for key, _ in VERDICT_GROUPS) + "."),
    ]
    for key, title in VERDICT_GROUPS:
        rows = table[table["verdict"].str.startswith(key)]
        if not rows.empty:
            blocks += [("heading", title), ("bullets", [sentence(r) for r in rows.itertuples()])]
    return blocks


CLAIM_COLUMNS = ("claim", "panel", "claimed", "n", "mean", "95 % interval", "detectable", "verdict", "replication",
                 "seeds for a robust verdict", "family-wise (Holm)")


def claim_rows(table: pd.DataFrame) -> list[list[str]]:
    """The claims table's rows as text, the columns of ``CLAIM_COLUMNS``."""
    rows = []
    for r in table.itertuples():
        note = f" ({r.note})" if r.note else ""
        replication = "" if pd.isna(r.replication) else f"{r.replication:.2f}" + (" *fragile*" if r.fragile else "")
        rows.append([f"`{r.claim}`", r.panel or "", r.claimed, str(r.n), f"{number(r.mean)} {r.unit}".strip(),
                     f"[{number(r.ci95_low)}, {number(r.ci95_high)}]", f"{r.mde:.3g}", r.verdict + note, replication,
                     seeds_text(r.seeds_robust), r.verdict_holm])
    return rows


def page(table: pd.DataFrame, regime: str, figures: Sequence[tuple[str, str, str, str]]) -> list[Block]:
    """The results page: the opening, then per figure (name, title, caption, image path) its picture,
    its caption and the claims that rest on it."""
    blocks = opening(table, regime) + [("heading", "The figures")]
    for name, title, caption, image in figures:
        blocks += [("subheading", title), ("image", (title, image)), ("paragraph", caption)]
        rows = table[table["figure"] == name]
        blocks.append(("table", (CLAIM_COLUMNS, claim_rows(rows))) if not rows.empty
                      else ("paragraph", "No claim rests on this figure."))
    return blocks


def cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown(blocks: Iterable[Block]) -> str:
    out = []
    for kind, content in blocks:
        if kind == "title":
            out.append(f"# {content}")
        elif kind == "heading":
            out.append(f"## {content}")
        elif kind == "subheading":
            out.append(f"### {content}")
        elif kind == "paragraph":
            out.append(content)
        elif kind == "bullets":
            out.append("\n".join(f"- {line}" for line in content))
        elif kind == "image":
            out.append(f"![{content[0]}]({content[1]})")
        elif kind == "table":
            header, rows = content
            out.append("\n".join([f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
                                 + [f"| {' | '.join(cell(c) for c in row)} |" for row in rows]))
    return "\n\n".join(out) + "\n"


def inline_rst(text: str) -> str:
    """Markdown's `code` as reStructuredText's ``code`` (emphasis and strong are the same)."""
    return re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", text)


def rst(blocks: Iterable[Block]) -> str:
    """Title, headings, paragraphs and bullets in reStructuredText (the report's opening page)."""
    out = []
    for kind, content in blocks:
        if kind in ("title", "heading", "subheading"):
            underline = {"title": "=", "heading": "-", "subheading": "~"}[kind]
            out.append(f"{content}\n{underline * len(content)}")
        elif kind == "paragraph":
            out.append(inline_rst(content))
        elif kind == "bullets":
            out.append("\n".join(f"- {inline_rst(line)}" for line in content))
        else:
            raise ValueError(f"the report's opening page has no {kind} blocks")
    return "\n\n".join(out) + "\n"


def html_table(table: pd.DataFrame) -> str:
    """The claims as a standalone UTF-8 HTML page: Snakemake's report shows HTML results inline."""
    body = table.to_html(index=False, na_rep="nan", float_format="{:.4g}".format, border=0)
    return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Claims of the paper</title>\n'
            "<style>table{border-collapse:collapse;font:13px sans-serif}td,th{border:1px solid #ccc;"
            "padding:3px 6px;text-align:left}</style></head>\n<body>\n" + body + "\n</body></html>\n")


def claims_markdown(table: pd.DataFrame) -> str:
    """``claims.md``: every claim and panel as one table, with its figure."""
    rows = [[r.figure, *row] for r, row in zip(table.itertuples(), claim_rows(table), strict=True)]
    return markdown([("title", "Claims of the paper, decided on this run"),
                     ("table", (("figure", *CLAIM_COLUMNS), rows))])


def caption_markdown(text: str) -> str:
    """A rendered figure caption (reStructuredText inline markup) as one Markdown paragraph."""
    text = " ".join(text.split())
    return re.sub(r"``([^`]+)``", r"`\1`", text)
