"""The workflow as the Snakemake community writes one: Snakemake's linter has nothing to say
but the software-deployment hint, the default config is chosen as documented in common.smk,
and the analysis side (what re-plots and claims import) stays free of torch."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from distancing import usage
from distancing.claims.catalogue import statistics
from distancing.plan import Plan, check_config, load_profiles

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


def test_a_configfile_profile_is_merged_over_config_yaml_as_load_profiles_merges(tmp_path):
    """A --configfile profile states only what differs: a key it leaves out keeps config.yaml's
    value (1000 training samples), a list it gives replaces config.yaml's, and Snakemake's merge
    is the one ``load_profiles`` does for Python (same runs, same settings)."""
    profile = yaml.safe_load((ROOT / "configs" / "smoke.yaml").read_text())
    del profile["base"]["data"]["train_samples"]
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(profile))
    runs = Plan(load_profiles(path, default=ROOT / "config.yaml")).runs()
    assert {run["data"]["train_samples"] for run in runs.values()} == {1000}  # from config.yaml
    assert {run["train"]["epochs"] for run in runs.values()} >= {6}  # from the profile
    # Dry runs that would train everything: results point at an empty directory.
    result = snakemake_at_root("-n", "-p", "figures", "--configfile", str(path), "--config",
                               "results=/nonexistent/results")
    assert train_jobs(result) == len(runs)
    assert '"train_samples": 1000' in result.stdout + result.stderr
    default = Plan(load_profiles(default=ROOT / "config.yaml")).runs()
    result = snakemake_at_root("-n", "-p", "figures", "--config", "results=/nonexistent/results")
    assert train_jobs(result) == len(default)


def plugin_dry_run(tmp_path, profile_settings: dict) -> tuple[str, Plan]:
    """A dry run to the claims of the smoke profile with ``profile_settings`` (a plugin, its
    config and a claim on it) merged over it, which must succeed: its output, and the plan."""
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump(profile_settings))
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-p", "--configfile",
                             "configs/smoke.yaml", str(profile), "--config", "results=/nonexistent/results",
                             "--", "/nonexistent/results/claims.csv"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    config = load_profiles(ROOT / "configs" / "smoke.yaml", profile, default=ROOT / "config.yaml")
    return out, check_config(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))


def test_a_measurement_added_through_the_registry_appears_in_the_dag(tmp_path):
    """The README's cost of a measurement: one entry with its compute function (here in a plugin
    module, tests/toy_measurement.py) and its key under measurements; its rule reads the stored
    members of the runs it names and the claims read its table (the smoke run of
    tests/test_pipeline.py runs it for real)."""
    claims = {"toy_hill_changes_norm": {"statistic": "final_norm_hill_vs_twin", "direction": "differs", "seeds": 2}}
    out, plan = plugin_dry_run(tmp_path, {"plugins": ["tests.toy_measurement"],
                                          "measurements": {"member_norms": {}}, "claims": claims})
    assert "rule measure_member_norms:" in out
    assert "/nonexistent/results/measurements/member_norms/norms.csv" in out
    read = {run for reading in plan.readings("member_norms") for run, _ in reading["members"].values()}
    assert read == set(plan.run_names("fig3_7"))
    for run in read:
        assert f"/nonexistent/results/runs/{run}/members.npz" in out


def test_a_peer_added_through_the_registry_appears_in_the_dag(tmp_path):
    """The README's cost of a peer: one entry (here in a plugin module, tests/toy_peer.py) and one
    line of config; its runs are trained, its ensembles built, and the generated statistic can
    be claimed (the smoke run of tests/test_pipeline.py runs it for real)."""
    methods = yaml.safe_load((ROOT / "config.yaml").read_text())["peers"]["methods"] + ["toy_pair"]
    claims = {"toy_pair_beats_single": {"statistic": "peers_toy_pair_vs_single", "metric": "accuracy",
                                        "direction": "greater", "effect": 1.0, "seeds": 2}}
    out, experiments = plugin_dry_run(tmp_path, {"plugins": ["tests.toy_peer"], "peers": {"methods": methods},
                                                 "claims": claims})
    for seed in (100, 101, 102, 103):  # two replicates (the smoke profile's peer claims)
        assert f"/nonexistent/results/runs/mobilenetv2-nohill-cosine-e3-seed{seed}/predictions.npz" in out
    toy = experiments.peers()["mobilenetv2"]["toy_pair"]
    assert toy["label"] == "two 3-epoch networks" and toy["budget"] == 6  # 2 runs of 3 epochs, counted
    assert "peers_distancing_vs_toy_pair" in statistics()  # generated, ready to be claimed
    # Without the plugin the same config stops before any job, naming the key.
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump({"peers": {"methods": methods}}))
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", "configs/smoke.yaml",
                             str(profile)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "invalid config: peers.methods: unknown peer 'toy_pair'" in result.stdout + result.stderr
    profile.write_text(yaml.safe_dump({"plugins": ["no_such_plugin"]}))
    result = subprocess.run([sys.executable, "-m", "snakemake", "-n", "--configfile", "configs/smoke.yaml",
                             str(profile)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "invalid config: plugins: cannot import 'no_such_plugin'" in result.stdout + result.stderr


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
    every script's imports load without torch (checked in a fresh interpreter). A measurement
    script rebuilds stored members as networks: torch is its work, and no plot or claim imports it."""
    modules = {"distancing.plan", "distancing.runs", "distancing.figures", "distancing.prose",
               "distancing.branching", "distancing.ensembles", "distancing.claims.inference",
               "distancing.claims.catalogue", "distancing.claims.verdicts", "distancing.sources", "distancing.plotting",
               "distancing.scripts", "distancing.files", "distancing.config", "distancing.peers",
               "distancing.results_page", "distancing.numerics", "distancing.measurements",
               "distancing.measurements.barriers", "distancing.measurements.plane", "distancing.measurements.averages"}
    for script in sorted((ROOT / "workflow" / "scripts").glob("*.py")):
        if script.name != "measure.py":
            modules |= imported_modules(script.read_text())
    for rules in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        modules |= set(re.findall(r"^(?:from|import) ([\w.]+)", rules.read_text(), flags=re.M))
    assert {"distancing.plotting", "matplotlib.pyplot", "pandas"} <= modules  # the scripts were read
    code = ("import sys\n" + "".join(f"import {m}\n" for m in sorted(modules))
            + "print('torch' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "False", "torch was imported by " + ", ".join(sorted(modules))


def package_imports() -> dict[str, set[str]]:
    """Module -> the package modules it imports, at module level or inside a function. Modules are
    named by their dotted path inside the package (``claims.verdicts``; a package by its folder,
    ``measurements``); importing a module of a subpackage counts as importing that module."""
    package = ROOT / "src" / "distancing"
    names = {path: ".".join(path.relative_to(package).with_suffix("").parts).removesuffix(".__init__")
             for path in package.rglob("*.py")}
    modules = set(names.values())

    def target(module: str, imported: str | None) -> set[str]:
        """The package modules ``from module import imported`` names: a module, or the module itself."""
        found = {f"{module}.{imported}".lstrip(".")} & modules if imported else set()
        return found or ({module} & modules)

    graph = {}
    for path, name in names.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else []))
                for alias in node.names:
                    edges |= target(base, alias.name)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("distancing."):
                for alias in node.names:
                    edges |= target(node.module.removeprefix("distancing."), alias.name)
            elif isinstance(node, ast.Import):
                edges |= {alias.name.removeprefix("distancing.") for alias in node.names
                          if alias.name.startswith("distancing.")} & modules
        graph[name] = edges - {name}
    return graph


def import_circle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of imports (a depth-first search's back edge), or []."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for imported in sorted(graph[module]):
            if state.get(imported) == "open":
                return path[path.index(imported):] + [imported]
            if imported not in state and (circle := visit(imported)):
                return circle
        state[module] = "done"
        path.pop()
        return []

    for module in sorted(graph):
        if module not in state and (circle := visit(module)):
            return circle
    return []


def test_the_workflows_own_imports_leave_scipy_stats_for_when_a_number_is_computed():
    """Every Snakemake process parses the Snakefile (on a cluster, one per job): what its rules
    import loads without scipy.stats, about a second of every start (claims/inference.py imports
    it when a verdict needs it)."""
    modules = set()
    for rules in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        modules |= set(re.findall(r"^(?:from|import) (distancing[\w.]*)", rules.read_text(), flags=re.M))
    assert {"distancing.measurements", "distancing.plan"} <= modules  # the rules were read
    code = ("import sys\n" + "".join(f"import {m}\n" for m in sorted(modules))
            + "from distancing.claims.inference import t_quantile\n"
            + "print('scipy.stats' in sys.modules, round(t_quantile(4), 4), 'scipy.stats' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.split() == ["False", "2.7764", "True"], result.stderr


def test_the_package_has_no_import_circle():
    """Layers import downwards only: the plan above the figures, peers and claims, above the run builder;
    a built-in measurement above the registry and the claims' catalogue, the verdicts above both."""
    assert import_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]  # the search finds one
    graph = package_imports()
    assert {"runs", "figures", "peers", "claims.catalogue", "sources"} <= graph["plan"] and "plan" in graph["prose"]
    assert {"measurements.registry", "claims.catalogue"} <= graph["measurements.barriers"]
    assert {"measurements", "claims.catalogue", "claims.inference"} <= graph["claims.verdicts"]
    assert import_circle(graph) == []


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
    traceback, _, last = text.rstrip().rpartition("\n")
    assert "Traceback" in traceback and traceback.endswith("ValueError: metrics.csv: no column val_acc")
    assert usage.PATTERN.search(last)  # a failed job's CPU-seconds too


def test_a_script_log_ends_with_the_jobs_cpu_seconds_its_childrens_included(tmp_path):
    """What Snakemake's benchmark samples every 30 s, the log states exactly at exit: a job that
    burns CPU itself and in a short child process (as Inductor's C++ compiler does) reports both,
    and together they are what its parent saw it use, less its own last moments after the line."""
    import resource

    log = tmp_path / "job.log"
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < {}: pass\n"
    code = ("import subprocess, sys\nfrom distancing.scripts import log_to\n"
            f"log_to({str(log)!r})\n" + burn.format(0.6)
            + f"subprocess.run([sys.executable, '-c', {burn.format(0.8)!r}], check=True)\n")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    own, waited = usage.read(log)
    seen = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    assert 0.6 <= own < 0.6 + 1.5 and 0.8 <= waited < 0.8 + 1.5, (own, waited)
    assert 0 <= seen - (own + waited) < 0.5, (seen, own, waited)
