"""The figure table (``figures.py``) and the plotting every figure script shares (``plotting.py``)."""

from pathlib import Path

from distancing.figures import FIGURE_TABLE, settings_schema
from distancing.plan import Plan
from distancing.sources import Analytic

from .test_plan import default_config

ROOT = Path(__file__).resolve().parents[1]
FIGURES = list(FIGURE_TABLE)


def test_the_schema_of_experiments_follows_the_figure_table():
    assert {"fig0_1", "fig3_8", "peers_members"} <= set(FIGURES)
    schema = settings_schema()
    assert schema["required"] == [name for name, spec in FIGURE_TABLE.items() if spec.settings is not None]
    assert schema["properties"]["fig3_2"] == FIGURE_TABLE["fig3_2"].settings
    assert set(schema["required"]) == set(default_config()["experiments"])  # config.yaml sets each once
    figures = Plan(default_config()).figures()
    for name, caption in ((name, ROOT / "workflow" / "report" / f"{name}.rst") for name in FIGURES):
        assert caption.exists() and (ROOT / "workflow" / "scripts" / f"{name}.py").exists(), name
        if not isinstance(figures[name].source, Analytic):  # the shared settings paragraph, defined once
            assert caption.read_text().rstrip().endswith("{{ snakemake.params.caption }}"), name


def test_the_same_figure_is_saved_as_the_same_bytes_in_both_formats(tmp_path):
    """No creation date in the PDF: redrawing a figure from the same data changes no byte."""
    import time

    import matplotlib.pyplot as plt

    from distancing.plotting import save

    def draw(folder: Path) -> tuple[bytes, bytes]:
        fig, ax = plt.subplots()
        ax.plot([0, 1, 2], [1.0, 0.5, 0.25], label="loss")
        ax.legend()
        save(fig, folder / "f.png", folder / "f.pdf")
        return (folder / "f.png").read_bytes(), (folder / "f.pdf").read_bytes()

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = draw(tmp_path / "a")
    time.sleep(1.1)  # a creation date would now differ by a second
    assert draw(tmp_path / "b") == first
    assert first[1].startswith(b"%PDF") and b"CreationDate" not in first[1]
