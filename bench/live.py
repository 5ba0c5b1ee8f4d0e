#!/usr/bin/env python3
"""P8: live pages. Opens 1,000 idle streams of changes (`GET /live`, server-sent events, one
signed-in session), reads the servers' memory before and after (per stream), then creates an
issue through the REST API and times how long until each stream hears of it (p50, p99).

`measure()` is what bench/bench.py calls for one instance (SQLite). Run alone
(`bench/run` does it under scripts/with-postgres), this script starts two instances on one
PostgreSQL database (ISSUES_APP_TEST_POSTGRES_URL) and opens half the streams on each while
the change is made on the first: the time across instances.
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (its helpers: ports, sign-in, tokens, RSS)

STREAMS = int(os.environ.get("BENCH_STREAMS", "1000"))


async def open_stream(host, port, cookie):
    """A stream of changes, read up to its `ready` event."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write((f"GET /live HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
                  "Accept: text/event-stream\r\n\r\n").encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise SystemExit(f"P8: /live answered {head[:80]!r}")
    await reader.readuntil(b"event: ready")
    return reader, writer


async def heard(reader, issue_id):
    """Reads until the change to `issue_id` arrives; the time it did."""
    marker = f'"issue":{issue_id},'.encode()
    buffer = b""
    while marker not in buffer:
        chunk = await reader.read(4096)
        if not chunk:
            raise SystemExit("P8: a stream ended before the change arrived")
        buffer += chunk
    return time.perf_counter()


def create(app, token):
    data = json.dumps({"title": "P8: heard everywhere", "description": ""}).encode()
    req = urllib.request.Request(f"{app}/api/v1/issues", data=data, method="POST",
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as response:
        return json.load(response)["id"]


async def measure_async(apps, cookie, token, pids, streams):
    rss_before = sum(bench.rss_mb(pid) for pid in pids)
    opened = []
    for n in range(streams):
        app = apps[n % len(apps)]
        host, port = app.split("//")[1].split(":")
        opened.append(await open_stream(host, int(port), cookie))
    await asyncio.sleep(2)
    rss_after = sum(bench.rss_mb(pid) for pid in pids)
    started = time.perf_counter()
    issue_id = await asyncio.get_running_loop().run_in_executor(None, create, apps[0], token)
    times = await asyncio.wait_for(asyncio.gather(*(heard(r, issue_id) for r, _ in opened)), timeout=60)
    for _, writer in opened:
        writer.close()
    delays = sorted((t - started) * 1000 for t in times)
    return {
        "streams": streams,
        "kb_per_stream": (rss_after - rss_before) * 1024 / streams,
        "p50_ms": statistics.median(delays),
        "p99_ms": delays[min(len(delays) - 1, int(len(delays) * 0.99))],
        "max_ms": delays[-1],
    }


def measure(apps, cookie, token, pids, streams=STREAMS):
    """Opens `streams` streams spread over `apps` (one session's `cookie`), then times a create
    (with `token`) made on the first until every stream has heard of it."""
    return asyncio.run(measure_async(apps, cookie, token, pids, streams))


def line(label, result):
    return (f"{label}: {result['streams']:,} idle streams, {result['kb_per_stream']:.1f} KB each; "
            f"a create heard by all: p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
            f"last {result['max_ms']:.1f} ms")


def two_instances():
    database_url = os.environ.get("ISSUES_APP_TEST_POSTGRES_URL")
    if not database_url:
        raise SystemExit("P8 across two instances: run under scripts/with-postgres")
    tmp = tempfile.mkdtemp(prefix="issues-bench-live.")
    port_a, port_b, idp_port = (bench.free_port() for _ in range(3))
    public = f"http://127.0.0.1:{port_a}"
    idp_org = f"http://127.0.0.1:{idp_port}/t/dev"
    base = {
        "AuthorizationConfig": {"BaseOrganizationUrl": idp_org},
        "ApplicationConfig": {"HostedUrl": public, "ClientId": bench.CLIENT_ID, "ClientSecret": bench.CLIENT_SECRET,
                              "APIScopes": ["openid", "email", "profile", "internal_login"]},
        "Features": {"Issues": {"scopes": {"create": ["issues:create"], "view": ["issues:view"]}}},
        "Server": {"DatabaseUrl": database_url, "DataDir": tmp, "CodeExchangesPerMinute": 100000,
                   "SessionKey": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                   "MaxOpenConnections": 4096, "MaxConnectionsPerClient": 4096},
    }
    with_idp = {**base, "DevIdentityProvider": {"Listen": f"127.0.0.1:{idp_port}",
                                                "KeyFile": os.path.join(tmp, "keys.json")}}
    paths = []
    for name, config in (("a.json", with_idp), ("b.json", base)):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            json.dump(config, f)
        paths.append(path)
    processes = []
    try:
        for path, port in ((paths[0], port_a), (paths[1], port_b)):
            processes.append(subprocess.Popen(
                [bench.SERVER, "--config", path], cwd=bench.ROOT,
                env={**os.environ, "LEPTOS_SITE_ROOT": bench.SITE, "LEPTOS_SITE_ADDR": f"127.0.0.1:{port}",
                     "RUST_LOG": "warn"},
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            bench.wait_ok(f"http://127.0.0.1:{port}/readyz")
        cookie = bench.sign_in(public)
        token = bench.token_for(idp_org, "john", "john-dev-password")
        result = measure([public, f"http://127.0.0.1:{port_b}"], cookie, token, [p.pid for p in processes])
        print(line("P8 across two instances (PostgreSQL)", result))
    finally:
        bench.stop(processes)


if __name__ == "__main__":
    two_instances()
