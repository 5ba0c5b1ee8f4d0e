#!/usr/bin/env python3
"""Instructions per request, counted by callgrind: a deterministic second opinion beside wrk.

Starts each given server binary under `valgrind --tool=callgrind` (with its embedded dev IdP),
warms it up, then counts the server's instructions over N P1 requests (bearer
`GET /api/v1/issues`) and N P2 requests (the `list_issues` server function with a session), each
on one kept-alive connection, and prints instructions per request. Machine speed and noise do
not enter: two builds compared this way differ only by what they execute.

    bench/instructions.py BINARY [BINARY …]      (INSTRUCTIONS_REQUESTS=1000; INSTRUCTIONS_TOP=N
                                                   also prints the N costliest functions;
                                                   INSTRUCTIONS_KEEP=DIR keeps callgrind's files)
"""

import glob
import http.client
import os
import re
import shutil
import subprocess
import sys
import time

import bench

REQUESTS = int(os.environ.get("INSTRUCTIONS_REQUESTS", "1000"))
TOP = int(os.environ.get("INSTRUCTIONS_TOP", "0"))
KEEP = os.environ.get("INSTRUCTIONS_KEEP")


def requests(port, path, method, headers, count):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(count):
        connection.request(method, path, body=b"" if method == "POST" else None, headers=headers)
        response = connection.getresponse()
        response.read()
        assert response.status == 200, (path, response.status)
    connection.close()


def counted(pid, out_dir, label):
    """Instructions since the last zeroing: dumps callgrind's counters and reads their total
    (and, with INSTRUCTIONS_TOP=N, prints the N functions that cost most per request)."""
    before = set(glob.glob(os.path.join(out_dir, "callgrind.out.*")))
    subprocess.run(["callgrind_control", "-d", label, str(pid)], check=True, capture_output=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        new = set(glob.glob(os.path.join(out_dir, "callgrind.out.*"))) - before
        for path in new:
            text = open(path).read()
            total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
            if total:
                if TOP:
                    print_top(path, label)
                if KEEP:
                    shutil.copy(path, os.path.join(KEEP, f"callgrind.{label}.{os.path.basename(path)}"))
                return int(total.group(1))
        time.sleep(0.5)
    raise SystemExit("bench: callgrind wrote no dump")


def print_top(dump, label):
    """The functions that cost most, self and inclusive, in instructions per request."""
    for inclusive in ("no", "yes"):
        annotated = subprocess.run(["callgrind_annotate", f"--inclusive={inclusive}", "--threshold=100",
                                    dump], check=True, capture_output=True, text=True).stdout
        rows = []
        for line in annotated.splitlines():
            found = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(?:\S+:)?(.+?)(?: \[.*\])?$", line)
            if found and not found.group(2).startswith("PROGRAM TOTALS"):
                rows.append((int(found.group(1).replace(",", "")), found.group(2)))
        kind = "inclusive" if inclusive == "yes" else "self"
        print(f"{label}: top {TOP} functions by {kind} instructions per request")
        for cost, name in rows[:TOP]:
            print(f"  {cost / REQUESTS:10,.0f}  {name[:150]}")


def measure(binary):
    side = bench.Instance("issues-instructions.", {"RequestTimeoutSeconds": 120, "HeaderTimeoutSeconds": 30,
                                                   "IdentityProviderTimeoutSeconds": 60})
    tmp, app, app_port, idp_org, config_path, env = (side.tmp, side.app, side.port, side.idp_org,
                                                     side.config_path, side.env)
    # First without valgrind: the signing keys (slow to make under valgrind), the database and
    # its 20 issues.
    server = subprocess.Popen([binary, "--config", config_path], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bench.wait_ok(f"{app}/readyz")
        token = bench.token_for(idp_org, "john", "john-dev-password")
        bench.seed_issues(app, token)
    finally:
        bench.stop([server])
    server = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/callgrind.out.%p",
                               binary, "--config", config_path],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        bench.wait_ok(f"{app}/readyz", timeout=600)
        token = bench.token_for(idp_org, "john", "john-dev-password")
        cookie = bench.sign_in(app)
        p1 = ("/api/v1/issues", "GET", {"Authorization": f"Bearer {token}"})
        p2 = ("/api/list_issues", "POST", {"Cookie": cookie, "Accept": "application/json",
                                           "Sec-Fetch-Site": "same-origin",
                                           "Content-Type": "application/x-www-form-urlencoded"})
        figures = {}
        for label, (path, method, headers) in (("P1", p1), ("P2", p2)):
            requests(app_port, path, method, headers, 100)  # warm-up
            subprocess.run(["callgrind_control", "-z", str(server.pid)], check=True, capture_output=True)
            requests(app_port, path, method, headers, REQUESTS)
            figures[label] = counted(server.pid, tmp, label) / REQUESTS
        return figures
    finally:
        bench.stop([server])


def main():
    results = {binary: measure(binary) for binary in sys.argv[1:]}
    first = None
    for binary, figures in results.items():
        line = f"{binary:40} " + "  ".join(f"{k} {v / 1000:,.1f}k instructions/request" for k, v in figures.items())
        if first:
            line += "  (" + ", ".join(f"{k} {v / first[k] - 1:+.1%}" for k, v in figures.items()) + " vs the first)"
        first = first or figures
        print(line)


if __name__ == "__main__":
    sys.exit(main())
