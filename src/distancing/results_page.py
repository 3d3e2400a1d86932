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

from .claims.catalogue import METRIC_WORDS
from .claims.inference import ROBUST
from .claims.verdicts import NULL, decided
from .measurements.aligned import ALIGNED_BASIN_STATISTICS, HOW
from .measurements.barriers import ANOTHER_BASIN, BASIN_STATISTICS, ONE_BASIN, PAIR_KINDS

Block = tuple[str, Any]
VERDICT_GROUPS = (("holds", "What holds"), ("does not hold", "What does not hold"),
                  (NULL, "No effect worth detecting: the interval lies within ± the declared effect"),
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


def sentence(r: Any, column: str = "verdict") -> str:
    """One claim and panel in words: what was claimed, what the data show (the verdict of ``column``,
    its own or its family's), how large, how sure a replication is."""
    said = getattr(r, column)
    detail = said.split(": ", 1)[1] if ": " in said else ""
    detail = "" if detail in ("", r.claimed.split(", in ")[0]) else f" ({detail})"
    note = f"; {r.note}" if r.note else ""
    size = f", {r.size}" if isinstance(r.size, str) and r.size else ""
    return (f"`{r.claim}` ({where(r)}), {r.claimed}: {number(r.mean)} {r.unit}, 95 % interval "
            f"[{number(r.ci95_low)}, {number(r.ci95_high)}], n = {r.n}{detail}{size}; {replication_words(r)}{note}.")


PRIMARY_COLUMNS = ("comparison", "model", "metric", "difference, 95 % interval", "n", "effect worth detecting",
                   "size", "replication", "family-wise verdict (Holm, primary family)")


def in_order(primary: pd.DataFrame) -> pd.DataFrame:
    """The primary family by metric, then comparison, then model (its panel): a table that reads down."""
    return primary.sort_values(["metric", "claimed", "panel"], kind="stable")


def primary_rows(rows: pd.DataFrame) -> list[list[str]]:
    """The primary family as text, the columns of ``PRIMARY_COLUMNS``."""
    out = []
    for r in in_order(rows).itertuples():
        replication = "" if pd.isna(r.replication) else f"{r.replication:.2f}" + (" *fragile*" if r.fragile else "")
        out.append([r.claimed.split(", in ")[0], r.panel, METRIC_WORDS.get(r.metric, r.metric),
                    f"{number(r.mean)} [{number(r.ci95_low)}, {number(r.ci95_high)}] {r.unit}", str(r.n),
                    f"{r.effect:g}", r.size if decided(r.verdict_holm) and isinstance(r.size, str) else "",
                    replication, r.verdict_holm])
    return out


def outcome(r: Any) -> str:
    """A primary row's family-wise outcome in a few words, with its numbers."""
    unit = r.unit.replace(" of calibrated NLL", "")
    numbers = f"{number(r.mean)} {unit}, 95 % interval [{number(r.ci95_low)}, {number(r.ci95_high)}]"
    where = f"{r.panel}, "
    verdict = r.verdict_holm
    if verdict.startswith("holds"):
        said = f"better by {numbers}, {r.size}"
    elif verdict.startswith("does not hold"):
        said = f"worse by {numbers}, {r.size}"
    elif verdict.startswith(NULL):
        said = f"no effect worth detecting ({numbers}, within ±{r.effect:g})"
    elif verdict.startswith("untestable"):
        said = f"undecided at n = {r.n} ({numbers}), {verdict.split('undecided, ', 1)[-1]}"
    else:
        said = f"undecided at n = {r.n} ({numbers})"
    return f"{where}{METRIC_WORDS.get(r.metric, r.metric)}: {said}"


def answer(primary: pd.DataFrame) -> list[str]:
    """The answer in words: one sentence per primary comparison (every panel and metric), then
    where distancing is worth its budget. Worth it, on a model and metric, means beating every
    primary comparison there family-wise by an effect not shown smaller than the one declared
    worth detecting; not worth it, that one of them is a loss, a powered null, or a gain shown
    smaller than that effect (an alternative does about as well at this budget); else undecided."""
    primary = in_order(primary)
    sentences = []
    comparison = primary["claimed"].str.split(", in ").str[0]
    for claim, rows in primary.groupby(comparison, sort=False):
        sentences.append(f"Whether {claim}: " + "; ".join(outcome(r) for r in rows.itertuples()) + ".")
    verdicts: dict[str, dict[str, list[str]]] = {"worth it": {}, "not worth it": {}, "undecided": {}}
    for (model, metric), rows in primary.groupby(["panel", "metric"], sort=False):
        said = rows["verdict_holm"]
        smaller = said.str.startswith("holds") & rows["size"].fillna("").str.startswith("smaller")
        kind = ("not worth it" if (said.str.startswith(("does not hold", NULL)) | smaller).any()
                else "worth it" if said.str.startswith("holds").all() else "undecided")
        verdicts[kind].setdefault(model, []).append(METRIC_WORDS.get(metric, metric))
    sentences.append("So, at this budget, distancing is " + "; ".join(
        f"{kind} on " + " and ".join(f"{model} ({', '.join(metrics)})" for model, metrics in where.items())
        for kind, where in verdicts.items() if where) + ".")
    return sentences


def side(verdict: str) -> str:
    """The basin a threshold claim's verdict names, whichever way it was declared ("" if undecided)."""
    return next((basin for basin in (ANOTHER_BASIN, ONE_BASIN) if decided(verdict) and f": {basin} (" in verdict), "")


def basin_of(rows: pd.DataFrame) -> str:
    """One pair's basin from its claims (error and training loss against their thresholds): one
    basin where every measure says so, another where any does, else undecided."""
    sides = [side(verdict) for verdict in rows["verdict"]]
    if ANOTHER_BASIN in sides:
        return ANOTHER_BASIN
    return ONE_BASIN if sides and all(s == ONE_BASIN for s in sides) else "undecided"


def measured(r: Any) -> str:
    """A threshold claim's numbers: mean, interval and its threshold."""
    unit = "points" if r.unit == "points" else f"× {r.unit.removeprefix('of ')}"
    measure = "validation-error" if r.unit == "points" else "training-loss"
    return (f"{measure} barrier {number(r.mean)} {unit} "
            f"[{number(r.ci95_low)}, {number(r.ci95_high)}], threshold {r.threshold:g}")


def averaging(table: pd.DataFrame, model: str, basin: str) -> str:
    """Whether weight averaging agrees with the model's checkpoint → final decision (where the
    peers train that model): members of one basin average into a good network, members of
    different basins do not."""
    rows = table[(table["statistic"] == "weight_average_vs_ensemble_distancing") & (table["metric"] == "accuracy")
                 & (table["panel"] == model)]
    if rows.empty:
        return ""
    r = next(rows.itertuples())
    loses, keeps = r.verdict.startswith("holds"), r.verdict.startswith(("does not hold", NULL))
    agrees = ("agrees" if (basin, loses, keeps) in ((ANOTHER_BASIN, True, False), (ONE_BASIN, False, True))
              else "disagrees" if basin != "undecided" and (loses or keeps) else "cannot be compared")
    return (f" Weight averaging {agrees}: the distancing members averaged into one network score "
            f"{number(r.mean)} points against their ensemble [{number(r.ci95_low)}, {number(r.ci95_high)}] "
            f"({r.verdict}).")


def independent_words(table: pd.DataFrame, model: str, statistic: str) -> str:
    """The independent networks' pair against the same threshold: the control, in a few words."""
    rows = table[(table["statistic"] == statistic) & (table["panel"] == model)]
    return "" if rows.empty else f"; independent networks, {basin_of(rows)} ({measured(next(rows.itertuples()))})"


def basins_decided(table: pd.DataFrame) -> list[str]:
    """Per model and kind of pair (``barriers.PAIR_KINDS``), then the checkpoint → final pair with
    units aligned: one basin, another basin or undecided, the hill's, its twin's and the
    independent networks', with the numbers; and, on each model the peers train, whether weight
    averaging agrees with the checkpoint → final decision."""
    known = {name: (*about, "") for name, about in BASIN_STATISTICS.items()}
    known |= {name: (*about, HOW) for name, about in ALIGNED_BASIN_STATISTICS.items()}
    rows = table[table["statistic"].isin(known)]
    rows = rows.join(pd.DataFrame([known[s] for s in rows["statistic"]], index=rows.index,
                                  columns=["measure", "series", "kind", "how"]))
    sentences = []
    for (model, kind, how), pair in rows.groupby(["panel", "kind", "how"], sort=False):
        hill, twin = pair[pair["series"] == "hill"], pair[pair["series"] == "twin"]
        matched = pair[pair["series"] == "matched"]
        control = "basin_val_error_independent" + ("_aligned" if how else "")
        said = (f"{model}, {PAIR_KINDS[kind].removeprefix('from ')}{how}: the hill's pair is **{basin_of(hill)}** ("
                + "; ".join(measured(r) for r in hill.itertuples()) + f"); its twin's, {basin_of(twin)} ("
                + "; ".join(measured(r) for r in twin.itertuples()) + ")"
                + ("" if matched.empty else f"; the no-hill step as long as the hill's, {basin_of(matched)} ("
                   + "; ".join(measured(r) for r in matched.itertuples()) + ")")
                + f"{independent_words(table, model, control)}.")
        if kind == "to_final" and not how:
            said += averaging(table, model, basin_of(hill))
        sentences.append(said)
    return sentences


def opening(table: pd.DataFrame, regime: str) -> list[Block]:
    """The answer first: the primary family's table and what it says in words; then how the
    verdicts are reached, the secondary family by family-wise verdict, and the controls."""
    primary = table[table["family"] == "primary"].reset_index(drop=True)
    blocks: list[Block] = [("title", "Machine learning with distancing: is it worth its training budget?")]
    if not primary.empty:
        blocks += [("table", (PRIMARY_COLUMNS, primary_rows(primary))), ("bullets", answer(primary))]
    basins = basins_decided(table)
    if basins:
        blocks += [("heading", "Does the hill leave the basin?"),
                   ("paragraph", "Figure 0.1's premise, decided per model and pair of members against thresholds "
                                 "declared before the run (the basins figure's caption defines them):"),
                   ("bullets", basins)]
    fragile = int(table["fragile"].sum())
    settled = int(table["verdict"].map(decided).sum())
    blocks += [
        ("paragraph", "After a checkpoint of the network's parameters is stored, a Gaussian hill centred on it is "
                      "added to the loss, so training moves away from where it has already been. The pipeline "
                      "trains baselines and distancing runs, each paired with a no-hill twin of the same schedule "
                      "and seed, builds ensembles from their checkpoints and their peers at equal training budget, "
                      "and tests the paper's claims, declared before the run. Everything here is generated from "
                      "`results/claims.csv`; nothing is typed."),
        ("paragraph", f"Regime: {regime}"),
        ("paragraph", f"{len(table)} claims (a claim per panel and metric), in two families declared before the run: "
                      f"the primary one above ({len(primary)} rows), which answers whether distancing is worth its "
                      f"budget, and the secondary one ({int((table['family'] == 'secondary').sum())} rows); Holm's "
                      "adjustment runs within each. Controls and qualifiers "
                      f"({int((table['family'] == '').sum())} rows) belong to no family. Each claim is decided by its "
                      "95 % t-interval over seeds, and graded against its declared effect worth detecting: *at least* "
                      "that large, *smaller*, or of undetermined size; an interval within ± the effect by two "
                      "one-sided tests is *no effect worth detecting*, a powered null. A control gates a claim only "
                      "where its failure would explain the claim's null (`src/distancing/claims/verdicts.py`): an "
                      "undecided claim resting on a control not shown to hold is untestable, a decided one stands "
                      "with a note. Each verdict carries the probability that an independent replication with as "
                      f"many seeds reaches the same verdict; {fragile} of the {settled} decided verdicts are "
                      f"*fragile* (below {ROBUST:g})."),
    ]
    for family, title, column in (("secondary", "The secondary family", "verdict_holm"),
                                  ("", "Controls and qualifiers", "verdict")):
        rows = table[table["family"] == family]
        if rows.empty:
            continue
        blocks.append(("heading", f"{title}: " + ", ".join(
            f"{key} {int(rows[column].str.startswith(key).sum())}" for key, _ in VERDICT_GROUPS
            if rows[column].str.startswith(key).any())))
        for key, heading in VERDICT_GROUPS:
            chosen = rows[rows[column].str.startswith(key)]
            if not chosen.empty:
                blocks += [("subheading", heading), ("bullets", [sentence(r, column) for r in chosen.itertuples()])]
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
    """Title, headings, paragraphs, bullets and tables in reStructuredText (the report's opening page)."""
    out = []
    for kind, content in blocks:
        if kind in ("title", "heading", "subheading"):
            underline = {"title": "=", "heading": "-", "subheading": "~"}[kind]
            out.append(f"{content}\n{underline * len(content)}")
        elif kind == "paragraph":
            out.append(inline_rst(content))
        elif kind == "bullets":
            out.append("\n".join(f"- {inline_rst(line)}" for line in content))
        elif kind == "table":
            header, rows = content
            lines = [".. list-table::", "   :header-rows: 1", ""]
            for row in (header, *rows):
                lines += [f"   {'*' if i == 0 else ' '} - {inline_rst(str(c))}" for i, c in enumerate(row)]
            out.append("\n".join(lines))
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
