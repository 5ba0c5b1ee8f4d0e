#!/usr/bin/env python3
"""A change against a base, on the same machine at the same time: P1 and P2 in alternating rounds.

Run through `BENCH_BASE=<commit> bench/run`, which builds both servers. Both run side by side
(the idle one costs nothing); each round loads the base and the change one after the other, in
turns (base first in odd rounds, the change first in even ones), so drift in the machine's speed
falls on both. Per row it prints each side's median, the median of the per-round ratios
(change / base) and their spread (lowest to highest): a regression is real when the whole
spread is below 1.00, noise when the spread straddles it.

    BENCH_BASE=a2197c6 bench/run      (BENCH_ROUNDS=6 rounds of BENCH_SECONDS=10 per load)
"""

import os
import statistics
import sys

import bench

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "6"))


def start_side(name, binary, processes):
    """One server with its embedded dev IdP and 20 issues; answers its URL and the loads' inputs."""
    side = bench.Instance(f"issues-paired-{name}.")
    app = side.app
    processes.append(bench.subprocess.Popen([binary, "--config", side.config_path], env=side.env,
                                            stdout=bench.subprocess.DEVNULL, stderr=bench.subprocess.DEVNULL))
    bench.wait_ok(f"{app}/readyz")
    token = bench.token_for(side.idp_org, "john", "john-dev-password")
    bench.seed_issues(app, token)
    script = bench.p2_script(side.tmp, bench.sign_in(app))
    return {
        "P1 bearer GET /api/v1/issues": lambda **kw: bench.wrk(f"{app}/api/v1/issues",
                                                               headers=[f"Authorization: Bearer {token}"], **kw),
        "P2 server fn list_issues": lambda **kw: bench.wrk(f"{app}/api/list_issues", script=script, **kw),
    }


def main():
    base_binary, change_binary = sys.argv[1], sys.argv[2]
    processes = []
    try:
        sides = {"base": start_side("base", base_binary, processes),
                 "change": start_side("change", change_binary, processes)}
        rows = list(sides["base"])
        results = {row: {"base": [], "change": []} for row in rows}
        # A warm-up, unreported: a process's first load measures its start-up.
        for side in sides.values():
            for load in side.values():
                load(duration=2)
        for round_ in range(ROUNDS):
            order = ("base", "change") if round_ % 2 == 0 else ("change", "base")
            for row in rows:
                for name in order:
                    run = sides[name][row]()
                    if run["errors"]:
                        raise SystemExit(f"bench: {name} {row}: {run['errors']} non-2xx answers")
                    results[row][name].append(run)
            print(f"round {round_ + 1} of {ROUNDS} done", file=sys.stderr)
        print(f"paired: base {os.environ.get('BENCH_BASE', base_binary)} vs this checkout, "
              f"{ROUNDS} alternating rounds of {bench.DURATION} s per load")
        for row in rows:
            base = [r["rps"] for r in results[row]["base"]]
            change = [r["rps"] for r in results[row]["change"]]
            ratios = sorted(c / b for b, c in zip(base, change))
            p99 = [statistics.median(r["p99"] for r in results[row][n]) for n in ("base", "change")]
            print(f"{row:32} base {statistics.median(base):>9,.0f} req/s  change {statistics.median(change):>9,.0f} req/s"
                  f"  change/base median {statistics.median(ratios):.3f} (spread {ratios[0]:.3f}–{ratios[-1]:.3f})"
                  f"  p99 {p99[0]:.2f} → {p99[1]:.2f} ms")
    finally:
        bench.stop(processes)


if __name__ == "__main__":
    sys.exit(main())
