"""HTTP latency of a running Boussole service: figures, not assertions.

    boussole serve &                     # or make run
    python -m bench.http_latency [--url http://127.0.0.1:8000] [--repeat 20]

Every request carries a problem the service has not seen, so the searcher's cache of
recent query vectors never answers: this is the latency of a new question.
"""

from __future__ import annotations

import argparse
import statistics
import time

PROBLEMS = [
    "Floods hit our neighbourhoods without any warning",
    "Nos habitants âgés n'arrivent pas à utiliser les services en ligne",
    "our pilot projects stop when the grant runs out",
    "les habitants des quartiers informels n'ont pas accès à internet",
    "how do we protect residents' personal data collected by sensors",
]


def main(argv: list[str] | None = None) -> None:
    import httpx

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    run = time.time_ns()  # makes the problems new to a service that ran this before
    with httpx.Client(base_url=args.url, timeout=60) as client:
        client.post("/v1/search", json={"query": f"warm-up {run}"}).raise_for_status()
        for path, field in (("/v1/search", "query"), ("/v1/recommend", "problem")):
            times = []
            for i in range(args.repeat):
                problem = f"{PROBLEMS[i % len(PROBLEMS)]} ({run} {path} {i})"
                started = time.perf_counter()
                client.post(path, json={field: problem}).raise_for_status()
                times.append((time.perf_counter() - started) * 1000)
            p90 = statistics.quantiles(times, n=10)[-1]
            print(f"{path:15} median {statistics.median(times):7.1f} ms   p90 {p90:7.1f} ms   ({args.repeat} requests)")


if __name__ == "__main__":
    main()
