"""Collective communication benchmark for expert-parallel research: all-to-all and all-reduce.

Run one process per GPU under torchrun:

    python -m torch.distributed.run --standalone --nproc_per_node=2 \\
        -m trainops_trainer bench-comm --min_bytes 1024 --max_bytes 268435456 --output results.jsonl

Each message size is timed after warm-up iterations, and rank 0 writes one JSON object a
line (an `env` record, then one `result` record per collective and size) for the bot,
plus a human table on stdout. NCCL is used on GPUs, gloo on CPU so the benchmark also
runs on machines without GPUs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Callable, Optional, TextIO

COLLECTIVES = ("all_to_all", "all_reduce")
FLOAT32_BYTES = 4


@dataclass
class BenchResult:
    collective: str
    bytes: int
    iterations: int
    time_us: float
    algbw_gbps: float
    busbw_gbps: float


def bus_bandwidth_factor(collective: str, world_size: int) -> float:
    """Return the factor that turns algorithm bandwidth into bus bandwidth.

    The formulas are those of nccl-tests (doc/PERFORMANCE.md in NVIDIA/nccl-tests): an
    all-reduce moves 2(n-1)/n of the buffer over each rank's link, an all-to-all (n-1)/n,
    so bus bandwidth is comparable with the hardware's link bandwidth for any n.
    """
    n = world_size
    if collective == "all_reduce":
        return 2 * (n - 1) / n
    if collective == "all_to_all":
        return (n - 1) / n
    raise ValueError(f"unknown collective {collective!r}; expected one of {', '.join(COLLECTIVES)}")


def message_sizes(min_bytes: int, max_bytes: int, world_size: int) -> list[int]:
    """Return sizes doubling from min_bytes to max_bytes, each a whole number of float32 per rank.

    All-to-all splits the buffer into world_size equal chunks, so every size is rounded up
    to a multiple of 4 * world_size bytes.
    """
    if min_bytes <= 0 or max_bytes < min_bytes:
        raise ValueError(f"need 0 < min_bytes <= max_bytes, got min_bytes={min_bytes} max_bytes={max_bytes}")
    unit = FLOAT32_BYTES * world_size
    sizes: list[int] = []
    size = min_bytes
    while size <= max_bytes:
        rounded = -(-size // unit) * unit
        if not sizes or rounded != sizes[-1]:
            sizes.append(rounded)
        size *= 2
    return sizes


def gpu_topology() -> Optional[str]:
    """Return `nvidia-smi topo -m` output, or None where nvidia-smi is absent or fails (CPU hosts)."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    try:
        completed = subprocess.run([executable, "topo", "-m"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return completed.stdout if completed.returncode == 0 else None


def gpu_link(topology: Optional[str]) -> Optional[str]:
    """Return the link between GPU0 and GPU1 in a `nvidia-smi topo -m` matrix (NV18, PIX, SYS…)."""
    if not topology:
        return None
    # Recent drivers underline the header row with ANSI escape codes.
    plain = re.sub(r"\x1b\[[0-9;]*m", "", topology)
    lines = [line.split() for line in plain.splitlines() if line.strip()]
    header = next((cells for cells in lines if cells and cells[0] == "GPU0"), None)
    if header is None:
        return None
    row = next((cells for cells in lines if cells and cells[0] == "GPU0" and cells is not header), None)
    # The header line starts with the column names (GPU0 GPU1 …) and the GPU0 row starts with
    # its own name, so the row is the second line beginning with GPU0; cell k+1 is column k.
    if row is None or len(header) < 2 or header[1] != "GPU1" or len(row) < 3:
        return None
    return row[2]


def run_benchmark(
    min_bytes: int,
    max_bytes: int,
    iterations: int,
    warmup: int,
    backend: str,
    emit: Callable[[dict], None],
) -> list[BenchResult]:
    """Time every collective at every size in an initialised process group; rank 0 emits records."""
    import torch
    import torch.distributed as dist

    world_size = dist.get_world_size()
    rank = dist.get_rank()
    device = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")

    def synchronize() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    results: list[BenchResult] = []
    for collective in COLLECTIVES:
        for size in message_sizes(min_bytes, max_bytes, world_size):
            elements = size // FLOAT32_BYTES
            send = torch.ones(elements, dtype=torch.float32, device=device)
            receive = torch.empty_like(send)

            def step() -> None:
                if collective == "all_reduce":
                    dist.all_reduce(send)
                else:
                    dist.all_to_all_single(receive, send)

            for _ in range(warmup):
                step()
            synchronize()
            dist.barrier()

            started = time.perf_counter()
            for _ in range(iterations):
                step()
            synchronize()
            seconds = (time.perf_counter() - started) / iterations

            # Every rank reports its own time; the slowest one bounds the collective.
            elapsed = torch.tensor([seconds], dtype=torch.float64, device=device)
            dist.all_reduce(elapsed, op=dist.ReduceOp.MAX)
            seconds = float(elapsed.item())

            algbw = size / seconds / 1e9
            result = BenchResult(
                collective=collective,
                bytes=size,
                iterations=iterations,
                time_us=round(seconds * 1e6, 3),
                algbw_gbps=round(algbw, 6),
                busbw_gbps=round(algbw * bus_bandwidth_factor(collective, world_size), 6),
            )
            results.append(result)
            if rank == 0:
                emit({"type": "result", **asdict(result)})
    return results


def format_table(results: list[BenchResult]) -> str:
    """Return a fixed-width table in the layout of nccl-tests: size, time, algbw, busbw."""
    lines = [f"{'collective':<12}{'size (B)':>14}{'time (us)':>14}{'algbw (GB/s)':>15}{'busbw (GB/s)':>15}"]
    for result in results:
        lines.append(
            f"{result.collective:<12}{result.bytes:>14}{result.time_us:>14.1f}"
            f"{result.algbw_gbps:>15.3f}{result.busbw_gbps:>15.3f}"
        )
    return "\n".join(lines)


def environment_record(backend: str, world_size: int) -> dict:
    import torch

    nccl_version = None
    if backend == "nccl":
        version = torch.cuda.nccl.version()
        nccl_version = ".".join(str(part) for part in version) if isinstance(version, tuple) else str(version)
    topology = gpu_topology()
    return {
        "type": "env",
        "backend": backend,
        "world_size": world_size,
        "torch_version": torch.__version__,
        "nccl_version": nccl_version,
        "gpu_name": torch.cuda.get_device_name(0) if backend == "nccl" else None,
        "gpu_link": gpu_link(topology),
        "topology": topology,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trainops_trainer bench-comm",
        description="Time all-to-all and all-reduce over a range of message sizes (run under torchrun).",
    )
    parser.add_argument("--min_bytes", type=int, default=1024, help="Smallest message size in bytes.")
    parser.add_argument("--max_bytes", type=int, default=256 * 1024 * 1024, help="Largest message size in bytes.")
    parser.add_argument("--iterations", type=int, default=20, help="Timed iterations per size.")
    parser.add_argument("--warmup", type=int, default=5, help="Untimed iterations per size before timing.")
    parser.add_argument("--backend", choices=("auto", "nccl", "gloo"), default="auto",
                        help="Process group backend; auto picks nccl when CUDA is available, else gloo.")
    parser.add_argument("--output", default=None, help="File for the JSON lines (rank 0); stdout when omitted.")
    return parser


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if args.iterations <= 0 or args.warmup < 0:
        print("bench-comm: --iterations must be positive and --warmup zero or more", file=sys.stderr)
        return 2

    import torch
    import torch.distributed as dist

    if "RANK" not in os.environ:
        print("bench-comm: run it under torchrun (python -m torch.distributed.run --nproc_per_node=N …)", file=sys.stderr)
        return 2

    backend = args.backend
    if backend == "auto":
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend)

    rank = dist.get_rank()
    output: Optional[TextIO] = None
    if rank == 0:
        output = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout

    def emit(record: dict) -> None:
        if output is not None:
            output.write(json.dumps(record, ensure_ascii=False) + "\n")
            output.flush()

    try:
        emit(environment_record(backend, dist.get_world_size()))
        results = run_benchmark(args.min_bytes, args.max_bytes, args.iterations, args.warmup, backend, emit)
        if rank == 0:
            table = format_table(results)
            # With --output the table goes to stdout (the run log); without it stdout carries
            # the JSON lines, so the table goes to stderr to keep them parseable.
            print(table, file=sys.stdout if args.output else sys.stderr, flush=True)
    finally:
        if output is not None and output is not sys.stdout:
            output.close()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
