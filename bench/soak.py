#!/usr/bin/env python3
"""issues-app soak: mixed traffic at 64 connections for a set time, then checks that nothing was
lost, nothing forged was stored, no answer was a 5xx and the servers gave back what they took.

Run through bench/soak, which builds what this needs:
    python3 bench/soak.py --backend sqlite              (one instance, embedded SQLite)
    python3 bench/soak.py --backend postgres --url URL  (two instances on one PostgreSQL)

Everything runs on 127.0.0.1 and every process started here is stopped here. The traffic:
signed-in page loads and server-function reads; creates by John through server functions and
through the REST API; whole sign-ins and sign-outs; and 10% hostile requests (bad bearer tokens,
creates forged by Emily or sent without an origin, oversized bodies, slow clients that never
finish their request). Halfway, the identity provider rotates its signing key.
"""

import argparse
import glob
import base64
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

from bench import free_port, hidden, rss_mb, stop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "target", "release", "issues-app")
IDP = os.path.join(ROOT, "target", "release", "dev-idp")
SITE = os.path.join(ROOT, "target", "site")
CLIENT_ID = "issues-app-soak-client"
CLIENT_SECRET = "soak-secret-" + uuid.uuid4().hex
JOHN = ("john", "john-dev-password")
EMILY = ("emily", "emily-dev-password")
CONNECTIONS = 64
SLOW_CLIENTS = 8
HEADER_TIMEOUT = 5
MAX_RSS_GROWTH_MB = 64


class Client:
    """Keep-alive HTTP/1.1 connections per host, with a cookie jar per host (ports ignored, as
    browsers do for cookies)."""

    def __init__(self, extra_headers=None, tally=None):
        self.connections = {}
        self.cookies = {}
        self.extra = extra_headers or {}
        self.tally = tally

    def request(self, method, url, body=None, headers=None):
        parts = urllib.parse.urlsplit(url)
        key = parts.netloc
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        sent = {**self.extra, **(headers or {})}
        jar = self.cookies.setdefault(parts.hostname, {})
        if jar and "Cookie" not in sent:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        while True:
            reused = key in self.connections
            if not reused:
                self.connections[key] = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
            connection = self.connections[key]
            try:
                connection.request(method, path, body=body, headers=sent)
                response = connection.getresponse()
                payload = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server had closed (idle timeout, or after a 413):
                # the request never reached it, so sending it again on a new one is safe. Any
                # other failure, or one on a fresh connection, is the caller's to count.
                connection.close()
                del self.connections[key]
                if not reused:
                    raise
                if self.tally is not None:
                    with self.tally.lock:
                        self.tally.resent += 1
            except (http.client.HTTPException, OSError):
                connection.close()
                del self.connections[key]
                raise
        for cookie in response.msg.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in cookie.lower() or value == "":
                jar.pop(name, None)
            else:
                jar[name] = value
        if response.getheader("Connection", "").lower() == "close":
            connection.close()
            self.connections.pop(key, None)
        return response.status, response, payload

    def close(self):
        for connection in self.connections.values():
            connection.close()
        self.connections.clear()


def sign_in(client, app, user):
    """The whole browser sign-in over HTTP; raises on any unexpected answer."""
    status, response, _ = client.request("GET", f"{app}/auth/login?return_to=/")
    assert status == 303, f"login start {status}"
    authorize = response.getheader("Location")
    status, _, html = client.request("GET", authorize)
    assert status == 200, f"authorize {status}"
    html = html.decode()
    origin = re.match(r"https?://[^/]+", authorize).group(0)
    action = origin + re.search(r'action="([^"]+)"', html).group(1)
    form = urllib.parse.urlencode({
        "interaction": hidden(html, "interaction"), "csrf_token": hidden(html, "csrf_token"),
        "username": user[0], "password": user[1],
    })
    status, response, _ = client.request("POST", action, form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303, f"login form {status}"
    # The callback goes to this instance (the load balancer's choice), whatever host it names.
    callback = urllib.parse.urlsplit(response.getheader("Location"))
    status, _, body = client.request("GET", f"{app}{callback.path}?{callback.query}")
    assert status == 303, f"callback {status}: {body[:300]!r}"


def password_token(idp_org, user):
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    body = urllib.parse.urlencode({"grant_type": "password", "username": user[0], "password": user[1],
                                   "scope": "issues:view issues:create"})
    client = Client()
    status, _, payload = client.request("POST", f"{idp_org}/oauth2/token", body, {
        "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
    client.close()
    assert status == 200, payload
    return json.loads(payload)["access_token"]


def open_connections(port):
    """TCP connections of the server on `port` in any state but LISTEN and TIME_WAIT (so one the
    server never closed, left in CLOSE_WAIT, counts too)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] not in ("0A", "06"):
                        count += 1
        except FileNotFoundError:
            pass
    return count


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.by_kind = {}
        self.server_errors = []
        self.unexpected = []
        self.acknowledged = set()
        self.forged = 0
        self.slow_cut = 0
        self.slow_open = 0
        self.resent = 0
        self.failures = []
        self.finished_workers = 0

    def failed(self, what, error):
        with self.lock:
            self.requests += 1
            self.failures.append(f"{what}: {type(error).__name__}: {error}"[:160])

    def count(self, kind, status, expected):
        with self.lock:
            self.requests += 1
            self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
            if status >= 500:
                self.server_errors.append((kind, status))
            elif status not in expected:
                self.unexpected.append((kind, status))


def worker(n, instances, idp_org, tokens, deadline, tally):
    """One of the 64 connections' worth of traffic (one keep-alive connection per instance)."""
    rng = random.Random(n)
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    john = Client(same_origin, tally)
    emily = Client(same_origin, tally)
    bare = Client(None, tally)
    app = instances[n % len(instances)]
    try:
        sign_in(john, app, JOHN)
        sign_in(emily, app, EMILY)
    except Exception as error:  # noqa: BLE001 -- every failure is counted, none kills silently
        tally.failed("first sign-in", error)
        return
    form = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    while time.time() < deadline:
        app = instances[rng.randrange(len(instances))]
        roll = rng.random()
        try:
            if roll < 0.25:
                status, _, _ = john.request("GET", f"{app}/")
                tally.count("page", status, {200})
            elif roll < 0.45:
                status, _, _ = emily.request("POST", f"{app}/api/list_issues", "", form)
                tally.count("server fn read", status, {200})
            elif roll < 0.55:
                status, _, _ = bare.request("GET", f"{app}/api/v1/issues",
                                            headers={"Authorization": f"Bearer {tokens['john']}"})
                tally.count("REST read", status, {200})
            elif roll < 0.65:
                title = f"soak-fn-{uuid.uuid4().hex}"
                body = urllib.parse.urlencode({"title": title, "description": "soak"})
                status, _, _ = john.request("POST", f"{app}/api/create_issue", body, form)
                tally.count("create (server fn)", status, {200})
                if status == 200:
                    with tally.lock:
                        tally.acknowledged.add(title)
            elif roll < 0.75:
                title = f"soak-rest-{uuid.uuid4().hex}"
                status, _, _ = bare.request("POST", f"{app}/api/v1/issues", json.dumps({"title": title}), {
                    "Authorization": f"Bearer {tokens['john']}", "Content-Type": "application/json"})
                tally.count("create (REST)", status, {201})
                if status == 201:
                    with tally.lock:
                        tally.acknowledged.add(title)
            elif roll < 0.80:
                visitor = Client(same_origin, tally)
                sign_in(visitor, app, JOHN if rng.random() < 0.5 else EMILY)
                tally.count("sign-in", 303, {303})
                status, _, _ = visitor.request("POST", f"{app}/auth/logout", "",
                                               {"Content-Type": "application/x-www-form-urlencoded"})
                tally.count("sign-out", status, {303})
                visitor.close()
            elif roll < 0.90:
                hostile(rng, app, tokens, john, emily, bare, tally)
            else:
                status, _, _ = bare.request("GET", f"{app}/api/v1/issues",
                                            headers={"Authorization": f"Bearer {tokens['emily']}"})
                tally.count("REST read", status, {200})
        except Exception as error:  # noqa: BLE001 -- every failure is counted, none kills silently
            tally.failed("request", error)
    for client in (john, emily, bare):
        client.close()
    with tally.lock:
        tally.finished_workers += 1


def hostile(rng, app, tokens, john, emily, bare, tally):
    choice = rng.randrange(5)
    if choice == 0:
        token = rng.choice(["garbage", "a.b.c", tokens["john"][:-4] + "AAAA", "x" * 9000])
        status, _, _ = bare.request("GET", f"{app}/api/v1/issues", headers={"Authorization": f"Bearer {token}"})
        tally.count("hostile: bad token", status, {400, 401, 431})
    elif choice == 1:
        # Emily may only view: a create in her name, through the API and a server function.
        title = f"forged-{uuid.uuid4().hex}"
        status, _, _ = bare.request("POST", f"{app}/api/v1/issues", json.dumps({"title": title}), {
            "Authorization": f"Bearer {tokens['emily']}", "Content-Type": "application/json"})
        tally.count("hostile: forged create (REST)", status, {403})
        body = urllib.parse.urlencode({"title": title, "description": ""})
        status, _, _ = emily.request("POST", f"{app}/api/create_issue", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        tally.count("hostile: forged create (server fn)", status, {403})
        with tally.lock:
            tally.forged += 2
    elif choice == 2:
        # John's cookie replayed by a program naming no origin.
        title = f"forged-{uuid.uuid4().hex}"
        cookie = "; ".join(f"{k}={v}" for k, v in john.cookies.get("127.0.0.1", {}).items())
        body = urllib.parse.urlencode({"title": title, "description": ""})
        status, _, answer = bare.request("POST", f"{app}/api/create_issue", body, {
            "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
        # Refused for naming no origin, not for some other reason.
        tally.count("hostile: create without origin", status if b"names no origin" in answer else -status, {403})
        with tally.lock:
            tally.forged += 1
    elif choice == 3:
        status, _, _ = bare.request("POST", f"{app}/api/v1/issues", json.dumps({"title": "x" * 200_000}), {
            "Authorization": f"Bearer {tokens['john']}", "Content-Type": "application/json"})
        tally.count("hostile: oversized body", status, {413})
    else:
        status, _, _ = bare.request("POST", f"{app}/api/v1/issues", "title=form", {
            "Authorization": f"Bearer {tokens['john']}", "Content-Type": "application/x-www-form-urlencoded"})
        tally.count("hostile: wrong media type", status, {415})


def slow_client(port, deadline, tally):
    """Sends half a request and waits for the server to cut it (within HeaderTimeoutSeconds)."""
    while time.time() < deadline:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(b"GET /api/v1/issues HTTP/1.1\r\nHost: soak\r\nX-Slow: ")
            sock.settimeout(HEADER_TIMEOUT + 10)
            try:
                cut = sock.recv(1024) == b""
            except ConnectionResetError:
                cut = True
            except (socket.timeout, OSError):
                cut = False
            with tally.lock:
                if cut:
                    tally.slow_cut += 1
                else:
                    tally.slow_open += 1


def stored_titles(backend, database):
    """title -> how many rows carry it, for the soak's titles."""
    query = "SELECT title, COUNT(*) FROM issues WHERE title LIKE 'soak-%' OR title LIKE 'forged-%' GROUP BY title"
    if backend == "sqlite":
        with sqlite3.connect(database) as db:
            return dict(db.execute(query).fetchall())
    psql = max(glob.glob("/usr/lib/postgresql/*/bin/psql"), key=lambda p: int(p.split("/")[4].split(".")[0]))
    out = subprocess.run([psql, database, "-At", "-F", "\t", "-c", query],
                         capture_output=True, text=True, check=True).stdout
    return {title: int(count) for title, count in (line.split("\t") for line in out.splitlines() if line)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--url", help="PostgreSQL URL (postgres backend)")
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", "60")))
    args = parser.parse_args()
    for binary in (SERVER, IDP):
        if not os.path.exists(binary):
            raise SystemExit(f"soak: {binary} is missing; run bench/soak")
    if args.backend == "postgres" and not args.url:
        raise SystemExit("soak: --url is required with --backend postgres")

    tmp = tempfile.mkdtemp(prefix="issues-soak.")
    count = 1 if args.backend == "sqlite" else 2
    ports = [free_port() for _ in range(count)]
    idp_port = free_port()
    hosted = f"http://127.0.0.1:{ports[0]}"
    instances = [f"http://127.0.0.1:{port}" for port in ports]
    idp_org = f"http://127.0.0.1:{idp_port}/t/dev"

    directory = json.loads(open(os.path.join(ROOT, "dev-idp", "directory.json")).read())
    app = directory["applications"][0]
    app.update({"clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET,
                "redirectUris": [f"{hosted}/auth/callback"], "postLogoutRedirectUris": [f"{hosted}/"]})
    app.pop("backChannelLogoutUrl", None)
    with open(os.path.join(tmp, "directory.json"), "w") as f:
        json.dump(directory, f)
    processes = []

    def start(cmd, env=None):
        log = open(os.path.join(tmp, f"{os.path.basename(cmd[0])}-{len(processes)}.log"), "w")
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=log, stderr=log)
        processes.append(proc)
        return proc

    tally = Tally()
    try:
        idp = start([IDP, "--directory", os.path.join(tmp, "directory.json"), "--listen", f"127.0.0.1:{idp_port}",
                     "--key-file", os.path.join(tmp, "idp-keys.json")], {"RUST_LOG": "warn"})
        database = args.url if args.backend == "postgres" else os.path.join(tmp, "issues.db")
        servers = []
        for index, port in enumerate(ports):
            config = {
                "AuthorizationConfig": {"BaseOrganizationUrl": idp_org},
                "ApplicationConfig": {"HostedUrl": hosted, "ClientId": CLIENT_ID, "ClientSecret": CLIENT_SECRET,
                                      "APIScopes": ["openid", "email", "profile", "internal_login"]},
                "Features": {"Issues": {"scopes": {"create": ["issues:create"], "view": ["issues:view"]}}},
                "Server": {"ListenAddress": f"127.0.0.1:{port}", "DataDir": tmp, "CodeExchangesPerMinute": 100000,
                           "SessionKey": base64.b64encode(b"k" * 32).decode(),
                           "HeaderTimeoutSeconds": HEADER_TIMEOUT,
                           "DatabaseUrl": args.url if args.backend == "postgres" else f"sqlite://{database}?mode=rwc"},
            }
            path = os.path.join(tmp, f"config-{index}.json")
            with open(path, "w") as f:
                json.dump(config, f)
            servers.append(start([SERVER, "--config", path], {
                "LEPTOS_SITE_ROOT": SITE, "LEPTOS_SITE_ADDR": f"127.0.0.1:{port}", "RUST_LOG": "warn"}))
        for instance in instances:
            deadline = time.time() + 60
            while True:
                try:
                    if Client().request("GET", f"{instance}/readyz")[0] == 200:
                        break
                except OSError:
                    pass
                if time.time() > deadline:
                    raise SystemExit(f"soak: {instance} did not become ready")
                time.sleep(0.2)
        tokens = {"john": password_token(idp_org, JOHN), "emily": password_token(idp_org, EMILY)}
        time.sleep(1)
        rss_start = [rss_mb(s.pid) for s in servers]
        baseline = [open_connections(port) for port in ports]

        started = time.time()
        deadline = started + args.seconds
        threads = [threading.Thread(target=worker, args=(n, instances, idp_org, tokens, deadline, tally))
                   for n in range(CONNECTIONS)]
        threads += [threading.Thread(target=slow_client, args=(ports[n % count], deadline, tally))
                    for n in range(SLOW_CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(args.seconds / 2)
        idp.send_signal(signal.SIGHUP)  # the IdP rotates its signing key
        tokens["john"] = password_token(idp_org, JOHN)  # new tokens carry the new key
        tokens["emily"] = password_token(idp_org, EMILY)
        for thread in threads:
            thread.join()
        elapsed = time.time() - started

        # Open connections back to where they were (idle keep-alives close within the timeout).
        settle = time.time() + HEADER_TIMEOUT + 10
        while time.time() < settle and any(open_connections(p) > b for p, b in zip(ports, baseline)):
            time.sleep(0.5)
        after = [open_connections(port) for port in ports]
        rss_end = [rss_mb(s.pid) for s in servers]
        stored = stored_titles(args.backend, database)
    finally:
        stop(processes)

    missing = [t for t in tally.acknowledged if stored.get(t, 0) == 0]
    doubled = [t for t in tally.acknowledged if stored.get(t, 0) > 1]
    forged = [t for t in stored if t.startswith("forged-")]
    kinds = ("page", "server fn read", "REST read", "create (server fn)", "create (REST)", "sign-in", "sign-out",
             "hostile: bad token", "hostile: forged create (REST)", "hostile: create without origin",
             "hostile: oversized body")
    absent = [kind for kind in kinds if not tally.by_kind.get(kind)]
    label = "SQLite, 1 instance" if count == 1 else "PostgreSQL, 2 instances (round-robin)"
    print()
    print(f"issues-app soak — {label} — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{CONNECTIONS} connections + {SLOW_CLIENTS} slow clients for {elapsed:.0f} s on {os.cpu_count()} cores; "
          f"signing key rotated at {args.seconds // 2} s")
    print(f"requests: {tally.requests:,} ({tally.requests / elapsed:,.0f}/s); a whole sign-in counts as one; "
          f"{tally.resent} sent again on a new connection after the server closed an idle one")
    for kind, n in sorted(tally.by_kind.items()):
        print(f"  {kind:<40} {n:>8,}")
    print(f"5xx answers: {len(tally.server_errors)}")
    print(f"unexpected answers: {len(tally.unexpected)} {sorted(set(tally.unexpected))[:5]}")
    print(f"failed requests: {len(tally.failures)} {tally.failures[:3]}")
    print(f"acknowledged creates: {len(tally.acknowledged):,}; stored exactly once: "
          f"{len(tally.acknowledged) - len(missing) - len(doubled):,}; missing {len(missing)}; doubled {len(doubled)}")
    print(f"forged creates sent: {tally.forged:,}; stored: {len(forged)}")
    print(f"slow clients cut by the server: {tally.slow_cut}; still open after {HEADER_TIMEOUT + 10} s: {tally.slow_open}")
    for index, port in enumerate(ports):
        print(f"instance {index + 1}: RSS {rss_start[index]:.0f} MB -> {rss_end[index]:.0f} MB; "
              f"open connections {baseline[index]} before, {after[index]} after")
    problems = []
    if tally.server_errors:
        problems.append(f"{len(tally.server_errors)} 5xx answers")
    if tally.unexpected or tally.failures:
        problems.append(f"{len(tally.unexpected)} unexpected answers, {len(tally.failures)} failed requests")
    if tally.finished_workers != CONNECTIONS or absent:
        problems.append(f"{CONNECTIONS - tally.finished_workers} workers stopped early; no traffic of kinds {absent}")
    if missing or doubled:
        problems.append(f"{len(missing)} acknowledged creates missing, {len(doubled)} stored twice")
    if forged:
        problems.append(f"{len(forged)} forged creates stored")
    if tally.slow_open or not tally.slow_cut:
        problems.append("slow clients were not cut")
    if any(end - start > MAX_RSS_GROWTH_MB for start, end in zip(rss_start, rss_end)):
        problems.append(f"RSS grew by more than {MAX_RSS_GROWTH_MB} MB")
    if any(a > b for a, b in zip(after, baseline)):
        problems.append("open connections did not return to the baseline")
    if problems:
        print("SOAK FAILED: " + "; ".join(problems))
        print(f"logs kept in {tmp}")
        return 1
    shutil.rmtree(tmp, ignore_errors=True)
    print("soak passed: 0 errors, nothing lost, nothing forged, connections and memory back in bounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
