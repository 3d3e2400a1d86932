"""Refuse SLURM jobs that no node of their partition could ever run; cancel a whole run on Ctrl-C.

SLURM accepts a job that asks for more CPUs, memory or GPUs than any node of its partition
has, or more time than the partition allows, and leaves it PENDING for ever; Snakemake with
snakemake-executor-plugin-slurm 2.8.0 then waits without a word. ``check_jobs`` compares
every job's request with the partition's nodes (``sinfo``) and time limit (``scontrol``)
before anything is submitted and raises one line naming the rule, the resource and the limit.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field


class SlurmLimitError(RuntimeError):
    """A job asks for more than its partition can ever give."""


class SlurmCancelError(RuntimeError):
    """The jobs of a run could not be cancelled."""


@dataclass
class Node:
    name: str
    cpus: int
    mem_mb: int
    gpus: int


@dataclass
class Partition:
    name: str
    nodes: list[Node] = field(default_factory=list)
    max_minutes: int | None = None  # None: no time limit
    max_mem_mb: int | None = None  # MaxMemPerNode, if set
    max_cpus: int | None = None  # MaxCPUsPerNode, if set
    default: bool = False

    def usable(self, node: Node) -> Node:
        """The node as a job of this partition sees it (partition caps applied)."""
        cpus = min(node.cpus, self.max_cpus) if self.max_cpus else node.cpus
        mem = min(node.mem_mb, self.max_mem_mb) if self.max_mem_mb else node.mem_mb
        return Node(node.name, cpus, mem, node.gpus)


def parse_minutes(text: str) -> int | None:
    """SLURM time (``MM``, ``MM:SS``, ``HH:MM:SS``, ``D-HH[:MM[:SS]]``) in whole minutes; None if unlimited."""
    text = text.strip()
    if text.upper() in ("UNLIMITED", "INFINITE", "NONE", ""):
        return None
    days, _, rest = text.rpartition("-")
    parts = [int(p) for p in rest.split(":")]
    if days:
        h, m, s = (parts + [0, 0])[:3]
        seconds = int(days) * 86400 + h * 3600 + m * 60 + s
    elif len(parts) == 3:
        seconds = parts[0] * 3600 + parts[1] * 60 + parts[2]
    elif len(parts) == 2:
        seconds = parts[0] * 60 + parts[1]
    else:
        seconds = parts[0] * 60
    return seconds // 60


def parse_gres_gpus(gres: str) -> int:
    """GPUs in a node's GRES string, e.g. ``gpu:a100:4(S:0-1),gpu:v100:2`` -> 6; ``(null)`` -> 0."""
    total = 0
    for item in re.sub(r"\([^)]*\)", "", gres).split(","):
        fields = item.strip().split(":")
        if fields[0] == "gpu" and len(fields) >= 2 and fields[-1].isdigit():
            total += int(fields[-1])
    return total


SINFO_ARGS = ["sinfo", "--noheader", "--Node", "--format=%P|%N|%c|%m|%G"]
SCONTROL_ARGS = ["scontrol", "show", "partition", "--oneliner"]


def parse_partitions(sinfo: str, scontrol: str) -> dict[str, Partition]:
    """Partitions from ``sinfo -N -o '%P|%N|%c|%m|%G'`` (nodes) and ``scontrol show partition -o`` (limits)."""
    partitions: dict[str, Partition] = {}
    for line in scontrol.splitlines():
        keys = dict(item.split("=", 1) for item in line.split() if "=" in item)
        if "PartitionName" not in keys:
            continue
        limit = {k: None if keys.get(k, "UNLIMITED") == "UNLIMITED" else int(keys[k])
                 for k in ("MaxMemPerNode", "MaxCPUsPerNode")}
        partitions[keys["PartitionName"]] = Partition(
            keys["PartitionName"], max_minutes=parse_minutes(keys.get("MaxTime", "UNLIMITED")),
            max_mem_mb=limit["MaxMemPerNode"], max_cpus=limit["MaxCPUsPerNode"], default=keys.get("Default") == "YES")
    for line in sinfo.splitlines():
        if not line.strip():
            continue
        name, node, cpus, mem, gres = line.strip().split("|")
        default = name.endswith("*")
        partition = partitions.setdefault(name.rstrip("*"), Partition(name.rstrip("*")))
        partition.default = partition.default or default
        partition.nodes.append(Node(node, int(cpus), int(mem.rstrip("+")), parse_gres_gpus(gres)))
    return partitions


def slurm_command(args: list[str], doing: str, error: type[RuntimeError],
                  run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> str:
    """Run a SLURM command and return its output; ``error`` with one line saying what it was
    ``doing`` and why it failed (the command's last line of stderr)."""
    try:
        result = run(args, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise error(f"{doing}: {args[0]} failed: {exc}") from None
    if result.returncode != 0:
        message = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise error(f"{doing}: {' '.join(args)}: {message}")
    return result.stdout


def query_partitions(run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> dict[str, Partition]:
    """Ask the cluster for its partitions, nodes and limits."""
    doing = "cannot check jobs against SLURM partitions"
    return parse_partitions(*(slurm_command(args, doing, SlurmLimitError, run) for args in (SINFO_ARGS, SCONTROL_ARGS)))


def job_request(resources: Mapping, threads: int) -> dict[str, int]:
    """What a Snakemake job asks SLURM for, as snakemake-executor-plugin-slurm submits it."""
    gpus = resources.get("gpu") or 0
    if not gpus and "gpu" in str(resources.get("gres") or ""):
        gpus = parse_gres_gpus(str(resources["gres"])) or 1
    cpus = resources.get("cpus_per_task") or threads
    return {"cpus": max(1, int(cpus)), "mem_mb": int(resources.get("mem_mb") or 0),
            "runtime": int(resources.get("runtime") or 0), "gpu": int(gpus)}


def check_request(rule: str, request: Mapping[str, int], partitions: Mapping[str, Partition],
                  partition: str | None) -> str | None:
    """One line saying why no node of the partition can ever run this request, or None if one can."""
    if not partition:
        defaults = [p for p in partitions.values() if p.default]
        if not defaults:
            return f"{rule}: no slurm_partition given and the cluster has no default partition"
        partition = defaults[0].name
    if partition not in partitions:
        return (f"{rule}: slurm_partition={partition} is not a partition of this cluster "
                f"(sinfo lists: {', '.join(sorted(partitions))})")
    part = partitions[partition]
    nodes = [part.usable(node) for node in part.nodes]
    if not nodes:
        return f"{rule}: partition {partition} has no nodes"
    if part.max_minutes is not None and request["runtime"] > part.max_minutes:
        return f"{rule}: runtime={request['runtime']} exceeds the time limit of partition {partition} " \
               f"({part.max_minutes} minutes)"
    for key, attr, unit in (("cpus", "cpus", "CPUs"), ("mem_mb", "mem_mb", "MB"), ("gpu", "gpus", "GPUs")):
        largest = max(getattr(node, attr) for node in nodes)
        if request[key] > largest:
            return f"{rule}: {key}={request[key]} exceeds the largest node of partition {partition} ({largest} {unit})"
    if not any(n.cpus >= request["cpus"] and n.mem_mb >= request["mem_mb"] and n.gpus >= request["gpu"]
               for n in nodes):
        return (f"{rule}: no node of partition {partition} has cpus={request['cpus']}, mem_mb={request['mem_mb']} "
                f"and gpu={request['gpu']} at once")
    return None


def check_jobs(jobs: Iterable, partitions: Mapping[str, Partition] | None = None) -> None:
    """Raise SlurmLimitError for the first Snakemake job no node of its partition could run."""
    seen = set()
    for job in jobs:
        resources = job.resources
        request = job_request(resources, job.threads)
        key = (job.name, resources.get("slurm_partition"), tuple(sorted(request.items())))
        if key in seen:
            continue
        seen.add(key)
        if partitions is None:
            partitions = query_partitions()
        problem = check_request(job.name, request, partitions, resources.get("slurm_partition"))
        if problem:
            raise SlurmLimitError(problem)


def read_cancelled_as_cancelled(plugin=None) -> None:
    """Make snakemake-executor-plugin-slurm see a job cancelled by a user or the scheduler as failed.

    sacct reports such a job as ``CANCELLED by <uid>``; plugin 2.8.0 matches only ``CANCELLED``
    and takes it for a job still running, so the pipeline waits for ever (and ignores SIGINT/SIGTERM
    while it does) instead of letting the profile's retries resubmit the job, which then resumes.
    """
    if plugin is None:
        import snakemake_executor_plugin_slurm as plugin
    original = plugin.query_job_status
    if getattr(original, "reads_cancelled", False):
        return

    async def query_job_status(command, logger):
        states, duration = await original(command, logger)
        if states is not None:
            states = {job: "CANCELLED" if state.startswith("CANCELLED") else state for job, state in states.items()}
        return states, duration

    query_job_status.reads_cancelled = True
    plugin.query_job_status = query_job_status


def cancel_run(name: str, clusters: bool = False, run: Callable[..., subprocess.CompletedProcess] = subprocess.run):
    """``scancel`` every job named ``name`` (a workflow run's id): one line on failure."""
    command = ["scancel", "--name", name] + (["--clusters=all"] if clusters else [])
    slurm_command(command, f"cannot cancel the jobs of run {name}", SlurmCancelError, run)


def cancel_whole_run(executor=None, run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> None:
    """Make Ctrl-C cancel every job the workflow run submitted, including those whose sbatch was in flight.

    Plugin 2.8.0 submits jobs from a pool of two threads and learns of a job only when its sbatch
    returns. On Ctrl-C it ``scancel``s the jobs it has learnt of, then waits for the pool, whose
    queued and in-flight submissions land after the cancel and stay in the queue behind a pipeline
    that has exited. Every job of a run carries the run's id as its SLURM job name, so: drop the
    submissions not yet started, wait for those in flight, then cancel by that name.
    """
    if executor is None:
        from snakemake_executor_plugin_slurm import Executor as executor
    original = executor.cancel_jobs
    if getattr(original, "cancels_whole_run", False):
        return

    def cancel_jobs(self, active_jobs):
        pool = getattr(self, "_job_submission_executor", None)
        name = getattr(self, "run_uuid", None)
        if pool is None or not name:  # a plugin that does not submit this way: its own cancel
            return original(self, active_jobs)
        pool.shutdown(wait=True, cancel_futures=True)
        cancel_run(name, clusters=bool(getattr(self, "_submitted_job_clusters", None)), run=run)

    cancel_jobs.cancels_whole_run = True
    executor.cancel_jobs = cancel_jobs
