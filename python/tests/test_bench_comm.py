"""bench-comm: size ladder, bus bandwidth factors, topology parsing, and two gloo processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from trainops_trainer.bench_comm import bus_bandwidth_factor, gpu_link, message_sizes

PYTHON_ROOT = Path(__file__).resolve().parents[1]

TOPOLOGY_2X_H100 = (
    "\x1b[4m\tGPU0\tGPU1\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID\x1b[0m\n"
    "GPU0\t X \tNV18\t0-47\t0\t\tN/A\n"
    "GPU1\tNV18\t X \t0-47\t0\t\tN/A\n"
    "\n"
    "Legend:\n"
    "  X    = Self\n"
    "  NV#  = Connection traversing a bonded set of # NVLinks\n"
)


def test_message_sizes_double_and_round_to_ranks():
    assert message_sizes(1024, 8192, 2) == [1024, 2048, 4096, 8192]
    assert message_sizes(6, 24, 2) == [8, 16, 24]
    assert message_sizes(1000, 1000, 3) == [1008]


def test_message_sizes_reject_empty_range():
    with pytest.raises(ValueError, match="min_bytes"):
        message_sizes(2048, 1024, 2)


def test_bus_bandwidth_factors_follow_nccl_tests():
    assert bus_bandwidth_factor("all_reduce", 2) == 1.0
    assert bus_bandwidth_factor("all_reduce", 8) == 1.75
    assert bus_bandwidth_factor("all_to_all", 2) == 0.5
    assert bus_bandwidth_factor("all_to_all", 8) == 0.875


def test_gpu_link_reads_topology_matrix():
    assert gpu_link(TOPOLOGY_2X_H100) == "NV18"


def test_gpu_link_without_second_gpu():
    assert gpu_link("\tGPU0\tCPU Affinity\nGPU0\t X \t0-47\n") is None
    assert gpu_link(None) is None


def test_two_gloo_processes_write_results(tmp_path):
    output = tmp_path / "bench.jsonl"
    env = {**os.environ, "PYTHONPATH": str(PYTHON_ROOT), "CUDA_VISIBLE_DEVICES": "", "GLOO_SOCKET_IFNAME": "lo"}
    completed = subprocess.run(
        [
            sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
            "-m", "trainops_trainer", "bench-comm",
            "--min_bytes", "1024", "--max_bytes", "8192", "--iterations", "3", "--warmup", "1",
            "--output", str(output),
        ],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]

    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    environment = records[0]
    assert environment["type"] == "env"
    assert environment["backend"] == "gloo"
    assert environment["world_size"] == 2
    assert environment["nccl_version"] is None

    results = records[1:]
    for collective in ("all_to_all", "all_reduce"):
        sizes = [record["bytes"] for record in results if record["collective"] == collective]
        assert sizes == [1024, 2048, 4096, 8192]
    for record in results:
        assert record["time_us"] > 0
        assert record["busbw_gbps"] >= 0

    assert "busbw (GB/s)" in completed.stdout
    assert "all_to_all" in completed.stdout
