"""Load test of a running Boussole service on this machine: figures, not assertions.

    boussole serve &
    python -m bench.load [--url http://127.0.0.1:8000] [--pid PID] [--requests 200] [--seconds 30]

For /v1/search, /v1/recommend and a 50/50 mix, at concurrency 1, 8 and 32: throughput,
p50/p95/p99 latency and errors (503s counted apart), plus the p99 and worst /healthz and
/readyz latency seen while the load ran, and the server's resident memory before and
after (--pid). The health checks are sent from a process of their own, every 50 ms, so
that the load generator's own event loop (busy with 32 clients) does not add its delays
to theirs. Every request carries a question never sent before, so no cache answers. Each
run stops at --requests requests or --seconds seconds, whichever comes first; traffic
goes to the given URL only (keep it on loopback).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import multiprocessing
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

# City problems in the users' words; a counter and a salt make each request new.
PROBLEMS = [
    "floods reach our streets before anyone is warned",
    "nos aînés n'arrivent pas à prendre rendez-vous en ligne",
    "the council wants cameras in the market but traders are worried",
    "les quartiers périphériques n'ont pas de couverture mobile",
    "how do we share transport data with start-ups safely",
    "comment former les agents municipaux au numérique",
    "our smart parking pilot ended when the vendor left",
    "la mairie veut publier ses budgets en données ouvertes",
]
ENDPOINTS = {"search": ("/v1/search", "query"), "recommend": ("/v1/recommend", "problem")}


@dataclass
class RunResult:
    name: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: int = 0
    busy: int = 0  # 503 answers (queue full): the bounded-queue behaviour, not failures
    seconds: float = 0.0
    health_worst: dict[str, float] = field(default_factory=dict)
    health_p99: dict[str, float] = field(default_factory=dict)

    def row(self) -> str:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")

        rps = len(lat) / self.seconds if self.seconds else 0.0
        health = "  ".join(
            f"{k} p99 {self.health_p99.get(k, float('nan')) * 1000:.0f} max {v * 1000:.0f} ms"
            for k, v in self.health_worst.items()
        )
        return (
            f"{self.name:<10} c={self.concurrency:<3} {rps:7.1f} req/s  p50 {pct(0.50):7.1f}  "
            f"p95 {pct(0.95):7.1f}  p99 {pct(0.99):7.1f} ms  ok {len(lat):4d}  503 {self.busy:3d}  "
            f"errors {self.errors:3d}  {health}"
        )

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def rss_mb(pid: int | None) -> float | None:
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


async def run(
    url: str,
    name: str,
    concurrency: int,
    *,
    requests: int,
    seconds: float,
    plan: list[tuple[str, str]] | None = None,
    health: tuple[str, ...] = (),
) -> RunResult:
    """`concurrency` workers send requests until `requests` are done or `seconds` passed.

    `plan` is a cycle of (path, field); the default is the endpoint called `name`.
    """
    import httpx

    plan = plan or [ENDPOINTS[name]]
    salt = time.time_ns()
    counter = itertools.count()
    result = RunResult(name, concurrency)
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency + len(health) + 2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                n = next(counter)
                if n >= requests:
                    return
                path, key = plan[n % len(plan)]
                body = {key: f"{PROBLEMS[n % len(PROBLEMS)]} ({salt % 100000} {n})"}
                started = time.perf_counter()
                try:
                    response = await client.post(path, json=body)
                except httpx.HTTPError:
                    result.errors += 1
                    continue
                if response.status_code == 200:
                    result.latencies.append(time.perf_counter() - started)
                elif response.status_code == 503:
                    result.busy += 1
                else:
                    result.errors += 1

        stop = multiprocessing.Event()
        results = multiprocessing.Queue()
        probers = [multiprocessing.Process(target=_probe, args=(url, p, stop, results), daemon=True) for p in health]
        for prober in probers:
            prober.start()
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
        stop.set()
        for _ in probers:
            path, times = results.get(timeout=60)
            times.sort()
            result.health_worst[path] = times[-1] if times else float("nan")
            result.health_p99[path] = times[min(len(times) - 1, int(0.99 * len(times)))] if times else float("nan")
        for prober in probers:
            prober.join(timeout=10)
    return result


def _probe(url: str, path: str, stop, results, every: float = 0.05) -> None:
    """In a process of its own: GET `path` every `every` seconds until `stop`; report the
    latencies (seconds) on `results`. A failed check counts as the time it took."""
    import httpx

    times: list[float] = []
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                client.get(path)
            except httpx.HTTPError:
                pass
            times.append(time.perf_counter() - started)
            stop.wait(every)
    results.put((path.strip("/"), times))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--pid", type=int, default=None, help="The server's process id, for its memory.")
    parser.add_argument("--requests", type=int, default=200, help="Requests per run, at most.")
    parser.add_argument("--seconds", type=float, default=30, help="Seconds per run, at most.")
    parser.add_argument("--concurrency", default="1,8,32")
    parser.add_argument("--endpoints", default="search,recommend,mix")
    args = parser.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]
    before = rss_mb(args.pid)
    mix = [ENDPOINTS["search"], ENDPOINTS["recommend"]]
    for name in args.endpoints.split(","):
        for c in levels:
            out = asyncio.run(
                run(args.url, name, c, requests=args.requests, seconds=args.seconds,
                    plan=mix if name == "mix" else None, health=("/healthz", "/readyz"))
            )  # fmt: skip
            print(out.row(), flush=True)
    after = rss_mb(args.pid)
    if before is not None and after is not None:
        print(f"server RSS: {before:.0f} MB before, {after:.0f} MB after")


if __name__ == "__main__":
    main()
