"""GPU slots: concurrent processes each claim a different device (no GPU needed to test)."""

import subprocess
import sys
import time

import pytest

from distancing import gpus

CLAIM = """
import os, sys, time
from distancing.gpus import claim_gpu
slot = claim_gpu(int(sys.argv[1]), sys.argv[2])
print(slot, os.environ["CUDA_VISIBLE_DEVICES"], flush=True)
time.sleep(float(sys.argv[3]))
"""


def test_concurrent_processes_get_distinct_devices_and_slots_free_on_exit(tmp_path):
    holders = [subprocess.Popen([sys.executable, "-c", CLAIM, "3", str(tmp_path), "5"], stdout=subprocess.PIPE,
                                text=True) for _ in range(3)]
    claimed = [tuple(p.stdout.readline().split()) for p in holders]
    assert sorted(claimed) == [("0", "0"), ("1", "1"), ("2", "2")]
    fourth = subprocess.run([sys.executable, "-c", CLAIM, "3", str(tmp_path), "0"], capture_output=True, text=True)
    assert fourth.returncode != 0 and "all 3 GPU slots" in fourth.stderr
    second = holders[claimed.index(("1", "1"))]
    second.kill()  # a killed job releases its device
    second.wait()
    time.sleep(0.1)
    again = subprocess.run([sys.executable, "-c", CLAIM, "3", str(tmp_path), "0"], capture_output=True, text=True)
    assert again.stdout.split() == ["1", "1"]
    for p in holders:
        p.kill()
        p.wait()


def test_slots_map_through_an_existing_device_list(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    monkeypatch.setattr(gpus, "_held", [])
    assert gpus.claim_gpu(2, tmp_path) == 0
    import os

    assert os.environ["CUDA_VISIBLE_DEVICES"] == "4"
    with pytest.raises(RuntimeError, match="lists only 1 devices"):
        gpus.claim_gpu(2, tmp_path)  # slot 1, but only device 4 is visible now
