"""The workflow as the Snakemake community writes one: Snakemake's linter has nothing to say
but the software-deployment hint, the default config is chosen as documented in common.smk,
and the analysis side (what re-plots and claims import) stays free of torch."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from distancing.pipeline import Experiments

ROOT = Path(__file__).resolve().parents[1]
SOFTWARE_HINT = "Specify a conda environment or container for each rule."


def snakemake_at_root(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_snakemake_lint_finds_nothing_but_the_software_hint():
    result = snakemake_at_root("--lint")
    output = result.stdout + result.stderr
    rules = re.findall(r"^Lints for rule (\S+) ", output, flags=re.M)
    findings = re.findall(r"^    \* (.+?):?$", output, flags=re.M)
    assert "Lints for snakefile" not in output, output
    assert len(rules) >= 19, output[-3000:]  # the linter ran over every rule
    assert findings == [SOFTWARE_HINT] * len(rules), sorted(set(findings) - {SOFTWARE_HINT})


def train_jobs(result: subprocess.CompletedProcess) -> int:
    assert result.returncode == 0, result.stderr[-3000:]
    match = re.search(r"^train\s+(\d+)$", result.stdout + result.stderr, flags=re.M)
    return int(match.group(1)) if match else 0


def test_configfile_replaces_the_default_profile_and_config_values_extend_it(tmp_path):
    """A --configfile profile replaces config.yaml: a key it leaves out takes the package default,
    not config.yaml's value (merging would give 1000 samples); --config alone keeps config.yaml."""
    profile = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    del profile["base"]["data"]["train_samples"]
    (tmp_path / "profile.yaml").write_text(yaml.safe_dump(profile))
    runs = Experiments(profile).runs()
    samples = {run["data"]["train_samples"] for run in runs.values()}
    assert samples != {1000} and len(samples) == 1
    # Dry runs that would train everything: results point at an empty directory.
    result = snakemake_at_root("-n", "-p", "figures", "--configfile", str(tmp_path / "profile.yaml"),
                               "--config", "results=/nonexistent/results")
    assert train_jobs(result) == len(runs)
    assert f'"train_samples": {json.dumps(samples.pop())}' in result.stdout + result.stderr
    assert '"train_samples": 1000' not in result.stdout + result.stderr
    default = Experiments(yaml.safe_load((ROOT / "config.yaml").read_text())).runs()
    result = snakemake_at_root("-n", "-p", "figures", "--config", "results=/nonexistent/results")
    assert train_jobs(result) == len(default) and '"train_samples": 1000' in result.stdout + result.stderr


def imported_modules(source: str) -> set[str]:
    """Top-level module names a Python source imports (absolute imports only)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_the_analysis_side_never_imports_torch():
    """Re-plots and claims stay fast: the workflow's own imports, the analysis modules and
    every script's imports load without torch (checked in a fresh interpreter)."""
    modules = {"distancing.pipeline", "distancing.ensembles", "distancing.claims", "distancing.plotting",
               "distancing.scripts", "distancing.files", "distancing.config"}
    for script in sorted((ROOT / "workflow" / "scripts").glob("*.py")):
        modules |= imported_modules(script.read_text())
    for rules in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        modules |= set(re.findall(r"^(?:from|import) ([\w.]+)", rules.read_text(), flags=re.M))
    assert {"distancing.plotting", "matplotlib.pyplot", "pandas"} <= modules  # the scripts were read
    code = ("import sys\n" + "".join(f"import {m}\n" for m in sorted(modules))
            + "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "False", "torch was imported by " + ", ".join(sorted(modules))


def test_run_files_come_from_declared_inputs_only(tmp_path):
    from distancing.plotting import read_metrics
    from distancing.scripts import RunFiles

    path = tmp_path / "results" / "runs" / "resnet-seed0" / "metrics.csv"
    path.parent.mkdir(parents=True)
    path.write_text("epoch,lr,val_acc\n1,0.1,0.5\n")
    (tmp_path / "results" / "runs" / "resnet-seed1").mkdir()  # a run directory the rule did not declare
    files = RunFiles([str(path)])
    assert dict(files) == {"resnet-seed0": path}
    assert read_metrics(files, ["resnet-seed0"])[0]["val_acc"].tolist() == [0.5]
    with pytest.raises(KeyError, match="run resnet-seed1: not among the rule's declared inputs"):
        read_metrics(files, ["resnet-seed1"])


def test_a_script_log_holds_warnings_and_the_traceback(tmp_path):
    log = tmp_path / "job.log"
    code = ("import warnings\nfrom distancing.scripts import log_to\n"
            f"log_to({str(log)!r})\nprint('reading inputs')\nwarnings.warn('few seeds')\n"
            "raise ValueError('metrics.csv: no column val_acc')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and result.stderr == ""
    text = log.read_text()
    assert "reading inputs" in text and "UserWarning: few seeds" in text
    assert "Traceback" in text and text.rstrip().endswith("ValueError: metrics.csv: no column val_acc")
