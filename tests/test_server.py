"""The warm training server: same bytes as a cold run, start-up saved, runs ended with their
clients, and only its parent's descendants served."""

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from distancing import usage
from distancing.server import ENVIRONMENT, available, descends_from

pytestmark = pytest.mark.skipif(not available(), reason="the training server needs Linux (SCM_RIGHTS, pidfd)")
OUTPUTS = ("metrics.csv", "distances.csv", "predictions.npz", "members.npz", "learning_rates.csv")


@pytest.fixture
def server(tmp_path):
    """A server started by this test process (so the test's children are served); yields its log.
    When it ends, its log states its CPU-seconds (usage.py), every served run's included."""
    path, log = tmp_path / "train.sock", tmp_path / "server.log"
    with open(log, "w") as f:
        process = subprocess.Popen([sys.executable, "-m", "distancing.cli", "serve", "--socket", str(path)],
                                   stdout=f, stderr=f)
    deadline = time.monotonic() + 30
    while not path.exists():
        assert process.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.02)
    yield path, log
    process.terminate()
    assert process.wait(timeout=30) == 0
    assert not path.exists()  # the socket is removed
    own, waited = usage.read(log)
    lines = log.read_text().splitlines()
    started = dict(line[len("run "):].split(": ", 1) for line in lines if line.startswith("run ") and ": " in line)
    finished = [started[line.split()[1]] for line in lines if line.startswith("run ") and line.endswith("exit code 0")]
    runs = sum(timing_total(Path(out)) for out in finished)  # each written by the child that finished it
    assert own > 0 and waited >= runs, (own, waited, runs)


def train_command(config: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "distancing.cli", "train", str(config), "--out", str(out), "--threads", "1",
            *extra]


def phase_cpu(out: Path, phase: str) -> float:
    with open(out / "timing.csv", newline="") as f:
        return next(float(r["cpu_seconds"]) for r in csv.DictReader(f) if r["phase"] == phase)


def startup_cpu(out: Path) -> float:
    return phase_cpu(out, "startup")


def timing_total(out: Path) -> float:
    return phase_cpu(out, "total")


def test_a_served_run_writes_the_bytes_of_a_cold_run_without_importing_torch_again(tmp_path, tiny_config, server):
    path, log = server
    cold = subprocess.run(train_command(tiny_config, tmp_path / "cold"), capture_output=True, text=True)
    assert cold.returncode == 0, cold.stderr
    served = subprocess.run(train_command(tiny_config, tmp_path / "served"), capture_output=True, text=True,
                            env=dict(os.environ, **{ENVIRONMENT: str(path)}))
    assert served.returncode == 0, served.stderr
    assert f"{tmp_path / 'served'}: completed after epoch 4" in served.stderr  # the child wrote to our stderr
    for name in OUTPUTS:
        assert (tmp_path / "served" / name).read_bytes() == (tmp_path / "cold" / name).read_bytes(), name
    assert f": {tmp_path / 'served'}\n" in log.read_text() and "ended with exit code 0" in log.read_text()
    # The served child starts with torch already imported: a fraction of the cold start-up.
    assert startup_cpu(tmp_path / "served") < 0.5 * startup_cpu(tmp_path / "cold")


def test_a_bad_config_fails_in_the_client_and_errors_pass_through(tmp_path, tiny_config, server):
    path, log = server
    env = dict(os.environ, **{ENVIRONMENT: str(path)})
    bad = subprocess.run(train_command(tiny_config, tmp_path / "bad", "--set", "train.lr=-1"), capture_output=True,
                         text=True, env=env)
    assert bad.returncode == 2 and bad.stderr == "error: train.lr: must be > 0, got -1.0\n"
    assert "run " not in log.read_text()  # refused before it reached the server


def test_killing_the_client_ends_its_run_which_then_resumes(tmp_path, tiny_config, server):
    path, log = server
    env = dict(os.environ, **{ENVIRONMENT: str(path)})
    longer = ["--set", "train.epochs=40", "--set", "data.train_samples=512"]
    out, state = tmp_path / "killed", tmp_path / "killed.pt"
    client = subprocess.Popen(train_command(tiny_config, out, "--state", str(state), *longer), env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not state.exists():
        assert client.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    child = int(next(line for line in log.read_text().splitlines() if line.startswith("run ")).split()[1][:-1])
    client.kill()
    client.wait()
    deadline = time.monotonic() + 30
    while any(line.startswith(f"run {child} ended") for line in log.read_text().splitlines()) is False:
        assert time.monotonic() < deadline, "the run outlived its client"
        time.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    assert state.exists()
    resumed = subprocess.run(train_command(tiny_config, out, "--state", str(state), *longer), env=env,
                             capture_output=True, text=True)
    assert resumed.returncode == 0 and "resuming" in resumed.stderr
    whole = subprocess.run(train_command(tiny_config, tmp_path / "whole", *longer), capture_output=True, text=True)
    assert whole.returncode == 0
    for name in ("metrics.csv", "distances.csv"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def test_without_a_server_or_outside_its_family_a_run_starts_cold(tmp_path, tiny_config, server):
    path, log = server
    gone = subprocess.run(train_command(tiny_config, tmp_path / "nobody"), capture_output=True, text=True,
                          env=dict(os.environ, **{ENVIRONMENT: str(tmp_path / "no.sock")}))
    assert gone.returncode == 0 and (tmp_path / "nobody" / "metrics.csv").exists()
    # A process that is not a descendant of the server's parent (as a job that a cluster
    # scheduler starts on the same node): the server refuses it and it trains itself.
    command = " ".join(train_command(tiny_config, tmp_path / "stranger"))
    done = tmp_path / "stranger.exit"  # written once the detached run has ended (its last write is timing.csv)
    subprocess.run(["setsid", "bash", "-c", f"({ENVIRONMENT}={path} {command} > /dev/null 2>&1; echo $? > {done}) &"],
                   check=True)
    deadline = time.monotonic() + 120
    while not done.exists() or not done.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert done.read_text().strip() == "0"
    assert "stranger" not in log.read_text()
    assert startup_cpu(tmp_path / "stranger") > 0.3  # it imported torch itself


def test_descent_follows_the_parent_chain():
    # A child of this process, not this process's parent: under a detached shell that is init,
    # which the chain never reaches (a server started by init would serve every process).
    with subprocess.Popen(["sleep", "30"]) as child:
        try:
            assert descends_from(child.pid, os.getpid()) and descends_from(os.getpid(), os.getpid())
            assert not descends_from(os.getpid(), child.pid)
        finally:
            child.kill()
    assert not descends_from(2**22 + 12345, os.getpid())  # no such process



def test_a_run_asking_for_other_kernels_than_the_server_pinned_starts_cold(tmp_path, tiny_config, server):
    """The server pins portable kernels before it imports torch; a native run cannot be forked
    from it, so it is refused and runs cold, with the kernels it asked for (numerics.py)."""
    path, log = server
    served = subprocess.run(train_command(tiny_config, tmp_path / "native", "--set", "numerics=native"),
                            capture_output=True, text=True, env=dict(os.environ, **{ENVIRONMENT: str(path)}))
    assert served.returncode == 0, served.stderr
    assert str(tmp_path / "native") not in log.read_text()  # not one of the server's runs
    run = yaml.safe_load((tmp_path / "native" / "config.yaml").read_text())["run"]
    assert run["numerics"] == "native" and "aten_cpu_capability" not in run


def compiled_graphs(out: Path) -> int:
    with open(out / "timing.csv", newline="") as f:
        return next(int(r["count"]) for r in csv.DictReader(f) if r["phase"] == "compiled_graphs")


def test_the_server_compiles_a_kind_of_run_once_and_its_children_inherit_the_code(tmp_path, compiled_tiny_run,
                                                                                 server):
    """compiled.py: the server compiles a run's steps before forking it; every child of that kind
    then compiles nothing and writes the bytes of a run that compiled its own (cold: the session's
    ``compiled_tiny_run``, in its own process)."""
    from distancing.numerics import has_avx2

    if not has_avx2():
        pytest.skip("auto compiles only where portable numerics pin the kernels")
    path, log = server
    config, cold = compiled_tiny_run / "tiny.yaml", compiled_tiny_run / "run"
    assert compiled_graphs(cold) >= 2  # training and evaluation
    env = dict(os.environ, **{ENVIRONMENT: str(path)})
    for name, extra in (("first", []), ("second", []), ("other_seed", ["--set", "seed=5"])):
        served = subprocess.run(train_command(config, tmp_path / name, *extra), capture_output=True,
                                text=True, env=env)
        assert served.returncode == 0, served.stderr
        assert compiled_graphs(tmp_path / name) == 0, name
        assert "compiled: true" in (tmp_path / name / "config.yaml").read_text()
    for name in OUTPUTS:
        assert (tmp_path / "first" / name).read_bytes() == (cold / name).read_bytes(), name
        assert (tmp_path / "second" / name).read_bytes() == (cold / name).read_bytes(), name
    assert log.read_text().count("compiled the steps of runs like") == 1  # one kind of run: compiled once
    assert (tmp_path / "other_seed" / "metrics.csv").read_bytes() != (cold / "metrics.csv").read_bytes()
