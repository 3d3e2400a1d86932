"""GPU locks: concurrent processes each claim a different device (no GPU needed to test).

Each process gets its own CUDA_VISIBLE_DEVICES (and SLURM_JOB_GPUS), as a scheduler would set them.
"""

import os
import subprocess
import sys
import time

import pytest

from distancing import gpus

CLAIM = """
import os, sys, time
from distancing.gpus import claim_gpu
identity = claim_gpu(int(sys.argv[1]), sys.argv[2])
print(identity, os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
time.sleep(float(sys.argv[3]))
"""


def claim(count, lock_dir, hold, **environ):
    """A process that claims a GPU and holds it for ``hold`` seconds, with its own environment."""
    env = {k: v for k, v in os.environ.items() if k not in ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_GPUS")}
    env.update(environ)
    return subprocess.Popen([sys.executable, "-c", CLAIM, str(count), str(lock_dir), str(hold)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process):
    out, err = process.communicate(timeout=60)
    return process.returncode, out.split(), err


def test_concurrent_processes_get_distinct_devices_and_locks_free_on_exit(tmp_path):
    holders = [claim(3, tmp_path, 5) for _ in range(3)]
    claimed = [tuple(p.stdout.readline().split()) for p in holders]
    assert sorted(claimed) == [("0", "0"), ("1", "1"), ("2", "2")]
    rc, _, err = finish(claim(3, tmp_path, 0))
    assert rc != 0 and "every usable GPU (0, 1, 2) is locked" in err
    second = holders[claimed.index(("1", "1"))]
    second.kill()  # a killed job releases its device
    second.wait()
    time.sleep(0.1)
    assert finish(claim(3, tmp_path, 0))[1] == ["1", "1"]
    for p in holders:
        p.kill()
        p.wait()


def test_jobs_use_the_device_their_scheduler_allocated(tmp_path):
    """Two SLURM jobs on one node, given devices 2 and 3, each with gpus: 1 in the config."""
    first, second = claim(1, tmp_path, 3, CUDA_VISIBLE_DEVICES="2"), claim(1, tmp_path, 3, CUDA_VISIBLE_DEVICES="3")
    assert sorted([finish(first)[1], finish(second)[1]]) == [["2", "2"], ["3", "3"]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gpu-2.lock", "gpu-3.lock"]


def test_devices_renumbered_per_job_lock_by_their_node_wide_index(tmp_path):
    """With device cgroups each job sees its GPU as 0; SLURM_JOB_GPUS tells them apart."""
    first = claim(1, tmp_path, 3, CUDA_VISIBLE_DEVICES="0", SLURM_JOB_GPUS="5")
    second = claim(1, tmp_path, 3, CUDA_VISIBLE_DEVICES="0", SLURM_JOB_GPUS="6")
    assert sorted([finish(first)[1], finish(second)[1]]) == [["5", "0"], ["6", "0"]]


def test_a_device_already_locked_is_refused_not_shared(tmp_path):
    holder = claim(1, tmp_path, 5, CUDA_VISIBLE_DEVICES="GPU-3f2a")  # UUIDs are identities too
    assert holder.stdout.readline().split() == ["GPU-3f2a", "GPU-3f2a"]
    rc, _, err = finish(claim(1, tmp_path, 0, CUDA_VISIBLE_DEVICES="GPU-3f2a"))
    assert rc != 0 and "every usable GPU (GPU-3f2a) is locked" in err
    holder.kill()
    holder.wait()


def test_a_device_list_is_used_in_order_up_to_count(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6,7")
    monkeypatch.delenv("SLURM_JOB_GPUS", raising=False)
    monkeypatch.setattr(gpus, "_held", [])
    assert gpus.candidate_devices(2) == [("4", "4"), ("6", "6")]
    assert gpus.claim_gpu(2, tmp_path) == "4"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "4"
    with pytest.raises(RuntimeError, match=r"every usable GPU \(4\) is locked"):
        gpus.claim_gpu(2, tmp_path)  # only device 4 is visible now, and this process holds it
