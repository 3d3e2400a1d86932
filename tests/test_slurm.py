"""SLURM: partition limits checked before submission, and the pipeline on a real single-node cluster.

The unit tests read fabricated ``sinfo``/``scontrol`` output. The tests named ``test_real_slurm_*``
need a running cluster (``sudo scripts/local-slurm/start.sh``; .ci/run starts one) and skip, with the
reason in the summary, when ``sinfo`` does not answer; with DISTANCING_REQUIRE_SLURM=1 they fail instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from distancing.plan import load_profiles
from distancing.slurm import (
    SlurmCancelError,
    SlurmLimitError,
    cancel_whole_run,
    check_jobs,
    check_request,
    job_request,
    parse_gres_gpus,
    parse_minutes,
    parse_partitions,
    query_partitions,
    read_cancelled_as_cancelled,
)

ROOT = Path(__file__).resolve().parents[1]

SINFO = """debug*|vm|2|23081|(null)
gpu|g1|32|256000|gpu:a100:4(S:0-1)
gpu|g2|64|128000|gpu:a100:2,gpu:v100:2
"""
SCONTROL = """PartitionName=debug AllowGroups=ALL Default=YES MaxNodes=UNLIMITED MaxTime=UNLIMITED MaxCPUsPerNode=UNLIMITED Nodes=vm State=UP TotalCPUs=2 DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED
PartitionName=gpu AllowGroups=ALL Default=NO MaxTime=2-00:00:00 MaxCPUsPerNode=48 Nodes=g[1-2] State=UP MaxMemPerNode=200000
"""  # noqa: E501


def request(cpus=1, mem_mb=1000, runtime=10, gpu=0):
    return {"cpus": cpus, "mem_mb": mem_mb, "runtime": runtime, "gpu": gpu}


def test_slurm_times_and_gres_parse():
    assert [parse_minutes(t) for t in ("UNLIMITED", "60", "30:00", "10:30:00", "2-00:00:00", "1-12")] == \
        [None, 60, 30, 630, 2880, 2160]
    assert [parse_gres_gpus(g) for g in ("(null)", "gpu:4", "gpu:a100:4(S:0-1)", "gpu:a100:2,gpu:v100:2,mps:100")] \
        == [0, 4, 4, 4]


def test_partition_limits_come_from_nodes_and_partition_caps():
    parts = parse_partitions(SINFO, SCONTROL)
    assert parts["debug"].default and not parts["gpu"].default
    assert [(n.cpus, n.mem_mb, n.gpus) for n in parts["gpu"].nodes] == [(32, 256000, 4), (64, 128000, 4)]
    assert parts["gpu"].max_minutes == 2880 and parts["debug"].max_minutes is None
    assert check_request("train", request(), parts, None) is None  # default partition, fits
    assert check_request("train", request(cpus=48, mem_mb=128000, runtime=2880, gpu=4), parts, "gpu") is None


@pytest.mark.parametrize("partition, req, message", [
    ("debug", request(mem_mb=32000), "train: mem_mb=32000 exceeds the largest node of partition debug (23081 MB)"),
    (None, request(cpus=4), "train: cpus=4 exceeds the largest node of partition debug (2 CPUs)"),
    ("debug", request(gpu=1), "train: gpu=1 exceeds the largest node of partition debug (0 GPUs)"),
    ("gpu", request(cpus=64), "train: cpus=64 exceeds the largest node of partition gpu (48 CPUs)"),  # MaxCPUsPerNode
    ("gpu", request(mem_mb=256000), "train: mem_mb=256000 exceeds the largest node of partition gpu (200000 MB)"),
    ("gpu", request(runtime=3000), "train: runtime=3000 exceeds the time limit of partition gpu (2880 minutes)"),
    ("gpu", request(cpus=40, mem_mb=150000), "train: no node of partition gpu has cpus=40, mem_mb=150000 and gpu=0"),
    ("gpus", request(), "train: slurm_partition=gpus is not a partition of this cluster (sinfo lists: debug, gpu)"),
])
def test_a_request_no_node_can_run_is_named_in_one_line(partition, req, message):
    problem = check_request("train", req, parse_partitions(SINFO, SCONTROL), partition)
    assert problem.startswith(message) and "\n" not in problem


def test_jobs_are_read_as_the_slurm_plugin_submits_them():
    assert job_request({"mem_mb": 4000, "runtime": 30, "gpu": 1}, threads=4) == request(4, 4000, 30, 1)
    assert job_request({"cpus_per_task": 8, "gres": "gpu:a100:2"}, threads=1) == request(8, 0, 0, 2)
    jobs = [SimpleNamespace(name="figure", threads=1, resources={"mem_mb": 1000, "slurm_partition": "debug"}),
            SimpleNamespace(name="train", threads=1, resources={"mem_mb": 32000, "slurm_partition": "debug"})]
    with pytest.raises(SlurmLimitError, match=r"^train: mem_mb=32000 exceeds"):
        check_jobs(jobs, parse_partitions(SINFO, SCONTROL))
    check_jobs(jobs[:1], parse_partitions(SINFO, SCONTROL))


def test_a_job_cancelled_by_a_user_reads_as_cancelled_so_it_is_retried():
    async def sacct(command, logger):
        return {"7": "CANCELLED by 0", "8": "RUNNING", "9": "COMPLETED"}, 0.01

    plugin = SimpleNamespace(query_job_status=sacct)
    read_cancelled_as_cancelled(plugin)
    read_cancelled_as_cancelled(plugin)  # once only
    states, _ = asyncio.run(plugin.query_job_status("sacct ...", None))
    assert states == {"7": "CANCELLED", "8": "RUNNING", "9": "COMPLETED"}


def test_ctrl_c_waits_for_submissions_in_flight_drops_the_rest_and_cancels_the_run_by_name():
    """The plugin's cancel, as Snakemake calls it on Ctrl-C: a submission in flight lands before
    scancel runs, one not yet started never does, and scancel names the run, not a list of ids."""
    started, release, events = threading.Event(), threading.Event(), []

    def submit(job):
        started.set()
        release.wait(10)
        events.append(f"submitted {job}")

    def scancel(args, **_):
        events.append(" ".join(args))
        return subprocess.CompletedProcess(args, 0, "", "")

    class Executor:  # the plugin's executor, as far as its cancel reads it
        run_uuid = "run-7"
        _submitted_job_clusters = set()

        def __init__(self):
            self._job_submission_executor = ThreadPoolExecutor(max_workers=1)

        def cancel_jobs(self, active_jobs):
            raise AssertionError("the plugin's own cancel ran")

    cancel_whole_run(Executor, run=scancel)
    cancel_whole_run(Executor, run=scancel)  # once only
    executor = Executor()
    executor._job_submission_executor.submit(submit, "in flight")
    executor._job_submission_executor.submit(submit, "queued")
    assert started.wait(10)
    threading.Timer(0.2, release.set).start()
    executor.cancel_jobs([])
    assert events == ["submitted in flight", "scancel --name run-7"]


def test_a_failed_cancel_is_one_line():
    class Executor:
        run_uuid = "run-7"

        def __init__(self):
            self._job_submission_executor = ThreadPoolExecutor(max_workers=1)

        def cancel_jobs(self, active_jobs):
            raise AssertionError("the plugin's own cancel ran")

    def fail(args, **_):
        return subprocess.CompletedProcess(args, 1, "", "scancel: error: Unable to contact slurm controller\n")

    cancel_whole_run(Executor, run=fail)
    with pytest.raises(SlurmCancelError, match=r"^cannot cancel the jobs of run run-7: scancel --name run-7: .*ler$"):
        Executor().cancel_jobs([])


def test_an_unreachable_cluster_is_one_line_too():
    def fail(args, **_):
        return subprocess.CompletedProcess(args, 1, "", "sinfo: error: Unable to contact slurm controller\n")

    with pytest.raises(SlurmLimitError, match=r"^cannot check jobs against SLURM partitions: sinfo .*controller$"):
        query_partitions(run=fail)


# ---------------------------------------------------------------- a real cluster


def cluster_reason() -> str | None:
    """Why no SLURM cluster can be used here, or None if one answers."""
    if not shutil.which("sinfo") or not shutil.which("sacct"):
        return "no SLURM cluster: sinfo/sacct not installed (sudo scripts/local-slurm/start.sh starts one)"
    try:
        result = subprocess.run(["sinfo", "-h", "-o", "%P %t"], capture_output=True, text=True, timeout=20)
    except subprocess.TimeoutExpired:
        return "no SLURM cluster: sinfo did not answer in 20 s"
    if result.returncode != 0 or not any(s in result.stdout for s in ("idle", "mix")):
        return f"no SLURM cluster with an idle node: sinfo said {(result.stdout + result.stderr).strip()[:200]!r}"
    return None


@pytest.fixture(scope="module")
def partition() -> str:
    reason = cluster_reason()
    if reason:
        if os.environ.get("DISTANCING_REQUIRE_SLURM") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    default = [p.name for p in query_partitions().values() if p.default]
    return os.environ.get("LOCAL_SLURM_PARTITION", default[0] if default else "debug")


def pipeline(target: Path, data_root: Path, **changes) -> Path:
    """The pipeline in a fresh directory with the smoke config (plus changes) as config.yaml."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "Snakefile", target)
    for folder in ("workflow", "profiles", "configs"):
        shutil.copytree(ROOT / folder, target / folder)
    config = load_profiles(ROOT / "configs" / "smoke.yaml", default=ROOT / "config.yaml")
    config["base"]["data"]["root"] = str(data_root)
    config.update(changes)
    (target / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return target


def on_slurm(workdir: Path, partition: str, *args: str, patient: bool = False) -> list[str]:
    """The command line of the README: the project's profile, only the partition added (and, for the
    tests' sake, status queries every two seconds unless ``patient``: the profile's own)."""
    quick = ["--slurm-init-seconds-before-status-checks", "2", "--seconds-between-status-checks", "2"]
    quick = [] if patient else quick
    return [sys.executable, "-m", "snakemake", "--snakefile", str(workdir / "Snakefile"), "--directory",
            str(workdir), *args, "--profile", str(ROOT / "profiles" / "slurm"),
            "--default-resources", f"slurm_partition={partition}", *quick]


def env() -> dict:
    """Jobs run this checkout's package (sbatch passes the environment on)."""
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "src"),
                                                                      os.environ.get("PYTHONPATH")])))


def slurm_jobs(output: str) -> dict[str, str]:
    """SLURM job id -> rule of every job Snakemake reports submitting (the plugin deletes logs of jobs that succeed)."""
    return {job: rule for job, rule in re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_([^/]+)/", output)}


def sacct(job_ids) -> dict[str, str]:
    """SLURM job id -> state, from accounting."""
    out = subprocess.run(["sacct", "-X", "-n", "-P", "-j", ",".join(job_ids), "-o", "JobID,State"],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split("|")[0:1] + [line.split("|")[1].split()[0]] for line in out.splitlines())


def new_jobs(before: set[str]) -> set[str]:
    """Jobs in the queue now that were not there before."""
    return set(subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split()) - before


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_real_slurm_runs_a_figure_through_the_profile_with_only_the_partition_given(partition, tmp_path, data_root):
    """Figure 1.1: four runs that share no epochs, so its jobs run side by side (branches, which wait
    for their trunks, share only files with them: the smoke run's local-cluster jobs cover them)."""
    workdir = pipeline(tmp_path / "p", data_root)
    started = time.perf_counter()
    result = subprocess.run(on_slurm(workdir, partition, "fig1_1"), env=env(), capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    print(f"fig1_1 on SLURM: {time.perf_counter() - started:.0f} s")
    jobs = slurm_jobs(result.stderr)
    ran = sorted(rule for rule in jobs.values() if rule != "prepare_data")  # data may be ready from earlier tests
    assert ran == ["fig1_1", "train", "train", "train", "train"] and len(jobs) - len(ran) <= 1
    assert set(sacct(jobs).values()) == {"COMPLETED"}, sacct(jobs)
    assert all((workdir / "figures-smoke" / f"fig1_1.{ext}").stat().st_size > 1000 for ext in ("png", "pdf"))
    run = "mobilenetv2-nohill-fixedlr-seed0"
    config = yaml.safe_load((workdir / "results-smoke" / "runs" / run / "config.yaml").read_text())
    assert len(read_csv(workdir / "results-smoke" / "runs" / run / "metrics.csv")) == config["train"]["epochs"] == 6
    assert config["run"]["threads"] == 1


def test_real_slurm_refuses_a_job_no_node_can_run_before_submitting(partition, tmp_path, data_root):
    """SLURM would accept cpus above the node's and leave the job PENDING (PartitionConfig) for ever."""
    cpus = max(node.cpus for node in query_partitions()[partition].nodes)
    workdir = pipeline(tmp_path / "p", data_root, threads=cpus + 1)
    result = subprocess.run(on_slurm(workdir, partition, "fig3_1"), env=env(), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode != 0
    line = f"train: cpus={cpus + 1} exceeds the largest node of partition {partition} ({cpus} CPUs)"
    assert line in result.stderr.splitlines(), result.stderr[-3000:]
    assert slurm_jobs(result.stderr) == {} and "submitted" not in result.stderr


def slow_sbatch(folder: Path, seconds: float) -> Path:
    """A folder whose ``sbatch`` submits through the real one after ``seconds``, deaf to Ctrl-C meanwhile,
    as a submission that is talking to a busy controller when the terminal's SIGINT arrives."""
    folder.mkdir(parents=True, exist_ok=True)
    wrapper = folder / "sbatch"
    wrapper.write_text(f"#!/bin/sh\ntrap '' INT\nsleep {seconds}\nexec {shutil.which('sbatch')} \"$@\"\n")
    wrapper.chmod(0o755)
    return folder


def wait_for(condition, seconds: float, what: str, step: float = 0.2):
    """Poll ``condition`` until it returns something truthy; fail naming ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out after {seconds:.0f} s waiting for {what}"
        time.sleep(step)
    return value


def run_jobs(run_id: str) -> dict[str, str]:
    """SLURM job id -> state of every job in the queue (pending or running) named by this workflow run's id."""
    out = subprocess.run(["squeue", "-h", "--name", run_id, "-o", "%i %T"], capture_output=True, text=True,
                         check=True).stdout
    return dict(line.split() for line in out.splitlines())


def accounted_jobs(run_id: str) -> dict[str, str]:
    """SLURM job id -> state in accounting of every job this workflow run submitted."""
    out = subprocess.run(["sacct", "-X", "-n", "-P", "--name", run_id, "-S", "now-1days", "-o", "JobID,State"],
                         capture_output=True, text=True, check=True).stdout
    return {job: state.split()[0] for job, state in (line.split("|")[:2] for line in out.splitlines())}


def group_alive(pgid: int) -> bool:
    """Whether any process of the process group (the pipeline and everything it started) is still alive."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def ctrl_c_while_queued(workdir: Path, partition: str, log: Path, path: Path | None = None) -> tuple[dict, dict, str]:
    """Start Figure 1.1's four training jobs behind a job that holds every node, press Ctrl-C once one of
    them is queued, and wait until the pipeline and every process it started have exited.

    Returns the run's jobs queued when Ctrl-C was pressed, those still in the queue at the end, and the
    run's id (its jobs' SLURM name). Every wait has a deadline; none is a fixed sleep."""
    nodes = query_partitions()[partition].nodes
    blocker = subprocess.run(["sbatch", "--parsable", "-p", partition, "-N", str(len(nodes)), "--exclusive",
                              "-o", "/dev/null", "--wrap", "sleep 600"], capture_output=True, text=True, check=True)
    blocker_id = blocker.stdout.strip().split(";")[0]
    environment = env()
    if path:
        environment["PATH"] = f"{path}{os.pathsep}{environment['PATH']}"
    try:
        with open(log, "w") as output:
            # The profile's own status timing. SIGINT as a terminal delivers it, to the whole process group,
            # even where this test runs in the background (SIG_IGN inherited).
            process = subprocess.Popen(on_slurm(workdir, partition, "fig1_1", patient=True), env=environment,
                                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                                       stdout=output, stderr=output, start_new_session=True)

            def run_id():
                found = re.search(r"SLURM run ID: (\S+)", log.read_text())
                assert found or process.poll() is None, log.read_text()[-3000:]
                return found and found.group(1)

            run = wait_for(run_id, 120, "the SLURM run ID in Snakemake's log")
            queued = wait_for(lambda: process.poll() is None and run_jobs(run), 120, "a job of the run in squeue")
            for _ in range(3):  # Ctrl-C, and again if one lands while Snakemake is inside a submission
                os.killpg(process.pid, signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=60)
                if process.poll() is not None:
                    break
            assert process.poll() is not None, "three Ctrl-C did not end the pipeline"
            assert process.returncode != 0
            wait_for(lambda: not group_alive(process.pid), 60, "every process the pipeline started to exit")
        return queued, run_jobs(run), run
    finally:
        subprocess.run(["scancel", blocker_id])


def assert_all_cancelled(queued: dict, left: dict, run: str, log: Path) -> dict[str, str]:
    """No job of the run is left in the queue, and accounting has every one of them cancelled."""
    assert not left, f"jobs left in the queue after Ctrl-C (job id: state): {left}; Snakemake's log: {log}"
    accounted = wait_for(lambda: (jobs := accounted_jobs(run)) and "PENDING" not in jobs.values() and jobs, 30,
                         "accounting to record the cancellations")
    assert set(queued) <= set(accounted) and set(accounted.values()) == {"CANCELLED"}, accounted
    return accounted


def test_real_slurm_ctrl_c_ends_the_pipeline_and_cancels_its_queued_jobs(partition, tmp_path, data_root):
    log = tmp_path / "snakemake.log"
    assert_all_cancelled(*ctrl_c_while_queued(pipeline(tmp_path / "p", data_root), partition, log), log)


def test_real_slurm_ctrl_c_cancels_jobs_whose_submission_was_in_flight(partition, tmp_path, data_root):
    """The plugin submits in a pool of two threads and learns of a job only when its sbatch returns.
    With each sbatch taking 2 s, Ctrl-C lands while two of the four submissions are still in flight:
    they must be cancelled too, not left pending behind a pipeline that has exited. With the fix
    reverted it failed 5 runs of 5, two jobs left PENDING each time; with it, 20 of 20 passed with
    two CPU-bound processes beside it (docs/benchmarks.md, "SLURM: Ctrl-C")."""
    (data_root / "mnist1d.ready").touch()  # the four training jobs are submitted together
    log = tmp_path / "snakemake.log"
    queued, left, run = ctrl_c_while_queued(pipeline(tmp_path / "p", data_root), partition, log,
                                            path=slow_sbatch(tmp_path / "bin", 2))
    accounted = assert_all_cancelled(queued, left, run, log)
    assert len(accounted) > len(queued), f"no submission landed after Ctrl-C: {accounted}; log: {log}"


def test_real_slurm_a_cancelled_training_job_is_resubmitted_and_resumes_to_the_same_bytes(partition, tmp_path,
                                                                                         data_root):
    """scancel of a running training job, as a preemption would; the profile's retries resubmit it."""
    smoke = load_profiles(ROOT / "configs" / "smoke.yaml", default=ROOT / "config.yaml")
    base = smoke["base"]
    base["train"]["epochs"] = 30
    base["data"]["root"] = str(data_root)
    from distancing.plan import Plan

    smoke["base"] = base
    run = Plan(smoke).figure_runs("fig3_4")["resnet"]["series"]["no_hill"]["runs"][0]  # the ResNet's twin
    target = f"results-smoke/runs/{run}/metrics.csv"
    whole = pipeline(tmp_path / "whole", data_root, base=base)
    assert subprocess.run([sys.executable, "-m", "snakemake", "--snakefile", str(whole / "Snakefile"), "--directory",
                           str(whole), "--cores", "1", target], env=env(), capture_output=True).returncode == 0

    killed = pipeline(tmp_path / "killed", data_root, base=base)
    before = new_jobs(set())
    with open(tmp_path / "snakemake.log", "w+") as log:
        process = subprocess.Popen(on_slurm(killed, partition, target), env=env(), stdout=log, stderr=log)
        state = killed / "results-smoke" / "state" / f"{run}.pt"
        deadline = time.monotonic() + 300
        while not state.exists():
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        (job,) = new_jobs(before)
        subprocess.run(["scancel", job], check=True)
        process.wait(timeout=600)
        log.seek(0)
        output = log.read()
    assert process.returncode == 0, output[-4000:]
    jobs = slurm_jobs(output)
    assert list(jobs.values()) == ["train", "train"] and list(sacct(jobs).values()) == ["CANCELLED", "COMPLETED"]
    train_log = (killed / "results-smoke" / "logs" / "train" / f"{run}.log").read_text()
    resumed = re.search(r"resuming .*after epoch (\d+)", train_log)
    assert resumed and 1 <= int(resumed.group(1)) < 30, train_log[-2000:]
    out_killed, out_whole = killed / "results-smoke" / "runs" / run, whole / "results-smoke" / "runs" / run
    for name in ("metrics.csv", "distances.csv", "predictions.npz", "members.npz", "learning_rates.csv"):
        assert (out_killed / name).read_bytes() == (out_whole / name).read_bytes(), name
