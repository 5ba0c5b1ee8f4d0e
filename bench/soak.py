#!/usr/bin/env python3
"""issues-app soak: mixed traffic at 64 connections for a set time, plus a bounded hostile share,
then checks that nothing was lost, nothing forged was stored, no legitimate answer was a 5xx, no
hostile one a 5xx it was not designed to give, the audit trail grew only within a stated bound,
and the servers gave back what they took.

Run through bench/soak, which builds what this needs:
    python3 bench/soak.py --backend sqlite              (one instance, embedded SQLite)
    python3 bench/soak.py --backend postgres --url URL  (two instances on one PostgreSQL)
    ... --runs 3                                        (the whole soak three times in a row)

Everything runs on loopback and every process started here is stopped here. The traffic:
signed-in page loads and server-function reads; creates by John through server functions and
through the REST API; whole sign-ins and sign-outs; and 10% hostile requests (bad bearer tokens,
creates forged by Emily or sent without an origin, oversized bodies, slow clients that never
finish their request). Halfway, the identity provider rotates its signing key.

Beside it, each bounded in count and rate, the hostile share:
- replayed pending cookies: one /auth/login, then its cookie sent to /auth/callback many times
  (a wrong state, or the right state with a junk code);
- anonymous sign-outs: POST /auth/logout with the app's Origin and no session;
- junk code exchanges: /auth/login, then /auth/callback with its right state and a junk code
  (the app calls the provider's token endpoint);
- costly searches: John searching for a word in every soak title, several at once, through the
  REST API and the server function;
- slot hogs: connections that send half a request head and keep it open, renewed as the server
  cuts them, more than Server.MaxConnectionsPerClient of them;
- never-read answers: pipelined GETs of the WASM on a tiny receive buffer, never read.
The hogs come from 127.0.0.2, the never-read connections from 127.0.0.3 and the sign-in and
sign-out abuse from 127.0.0.4 (all loopback), so the per-client caps fall on them and not on the
legitimate users, who all come from 127.0.0.1.
"""

import argparse
import collections
import contextlib
import glob
import base64
import hashlib
import hmac
import http.server
import http.client
import json
import math
import os
import random
import re
import resource
import selectors
import shutil
import signal
import socket
import sqlite3
import struct
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

# The apps' connection limits (written into their config). The legitimate traffic holds about
# 270 connections per instance from 127.0.0.1 (64 workers x 3 keep-alive clients, a visitor
# each, the slow clients, the searchers), well under the per-client cap.
# Pages open on /live for the whole run (Emily's session), from their own address; and the
# webhook every change is posted to (a receiver here that checks each signature).
LIVE_STREAMS = 50
LIVE_SOURCE = "127.0.0.5"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()
# After the load: how long every change may take to reach the webhook.
WEBHOOK_SETTLE_SECONDS = 120
MAX_OPEN_CONNECTIONS = 1024
MAX_CONNECTIONS_PER_CLIENT = 400
WRITE_TIMEOUT = 10
# Legitimate sign-ins all come from 127.0.0.1 (about 8,000 a minute), so the per-address limit
# is set out of their way; it bounds the junk exchanges' audit rows only in name (see below).
CODE_EXCHANGES_PER_MINUTE = 100_000

# The hostile share: where from, how many, how fast.
HOG_SOURCE = "127.0.0.2"
NEVER_READ_SOURCE = "127.0.0.3"
ABUSE_SOURCE = "127.0.0.4"
HOGS_PER_INSTANCE = MAX_OPEN_CONNECTIONS // 2   # more than MAX_CONNECTIONS_PER_CLIENT: the cap is met
HOG_OPENS_PER_SECOND = 400                      # in all; and each hog at most once a second
HOG_HELD_SLACK = 16                             # accepted-and-refused in flight when sampled
NEVER_READERS_PER_INSTANCE = 8                  # each renewed at most once a second
NEVER_READ_PIPELINE = 4                         # GETs of the WASM sent at once on each
NEVER_READ_CUT_WITHIN = WRITE_TIMEOUT + HEADER_TIMEOUT + 5
REPLAYS_PER_SECOND = 20
REPLAYS_PER_COOKIE = 40                         # spread over the instances
SIGN_OUTS_PER_SECOND = 10
JUNK_EXCHANGES_PER_SECOND = 2
SEARCHERS = 4                                   # sent together: half REST, half server function
SEARCHES_PER_SECOND = 4                         # rounds of SEARCHERS searches a second
SEARCH_WORD = "soak"                            # in every soak title (soak-fn-…, soak-rest-…)
AUDIT_SLACK = 2
# Sign-in refusals the callback counts but never records (auth_routes.rs: "anonymous").
UNRECORDED_REFUSALS = ("bad_request", "no_pending_sign_in", "foreign_state", "too_many_exchanges",
                       "interaction_required")

HOSTILE_ALLOWED = {
    "pending sign-ins started": {303},
    "replayed pending cookies": {400, 429, 503},
    "anonymous sign-outs": {303},
    "junk code exchanges": {400, 429, 503},
    "costly searches (REST)": {200, 429, 503},
    "costly searches (server fn)": {200, 429, 503},
}


class Client:
    """Keep-alive HTTP/1.1 connections per host, with a cookie jar per host (ports ignored, as
    browsers do for cookies)."""

    def __init__(self, extra_headers=None, tally=None, source=None, jar=True, timeout=30):
        self.connections = {}
        self.cookies = {}
        self.extra = extra_headers or {}
        self.tally = tally
        self.source = (source, 0) if source else None  # a loopback address of this machine
        self.jar = jar
        self.timeout = timeout

    def request(self, method, url, body=None, headers=None):
        parts = urllib.parse.urlsplit(url)
        key = parts.netloc
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        sent = {**self.extra, **(headers or {})}
        jar = self.cookies.setdefault(parts.hostname, {}) if self.jar else {}
        if jar and "Cookie" not in sent:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        while True:
            reused = key in self.connections
            if not reused:
                self.connections[key] = http.client.HTTPConnection(parts.hostname, parts.port, timeout=self.timeout,
                                                                   source_address=self.source)
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


class Hook:
    """The webhook's receiver: checks each post's Standard Webhooks signature and counts the
    changes (`webhook-id`) it took."""

    def __init__(self):
        self.ids = collections.Counter()
        self.bad = 0
        self.lock = threading.Lock()
        key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                id_, stamp = self.headers.get("webhook-id", ""), self.headers.get("webhook-timestamp", "")
                signed = f"{id_}.{stamp}.".encode() + body
                expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
                with hook.lock:
                    if hmac.compare_digest(expected, self.headers.get("webhook-signature", "")):
                        hook.ids[id_] += 1
                    else:
                        hook.bad += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def live_stream(instance, cookie, deadline, live):
    """One page open on /live until `deadline`: counts the changes it hears, and whether it
    ended early."""
    parts = urllib.parse.urlsplit(instance)
    try:
        sock = socket.create_connection((parts.hostname, parts.port), timeout=5, source_address=(LIVE_SOURCE, 0))
        sock.sendall((f"GET /live HTTP/1.1\r\nHost: {parts.netloc}\r\nCookie: {cookie}\r\n"
                      "Accept: text/event-stream\r\n\r\n").encode())
        buffer, heard = b"", 0
        while time.time() < deadline:
            sock.settimeout(max(0.1, min(5, deadline - time.time())))
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                with live["lock"]:
                    live["ended early"] += 1
                break
            buffer = buffer[-32:] + chunk
            heard += chunk.count(b"event: change")
        sock.close()
        with live["lock"]:
            live["heard"].append(heard)
    except OSError as error:
        with live["lock"]:
            live["failed"].append(str(error))


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


def heap_mb(metrics_port):
    """The live heap the server's allocator counts (`heap_live_bytes`, built with heap-stats)."""
    status, _, body = Client().request("GET", f"http://127.0.0.1:{metrics_port}/metrics")
    assert status == 200, f"metrics {status}"
    for line in body.decode().splitlines():
        if line.startswith("heap_live_bytes "):
            return float(line.split()[1]) / 1e6
    raise AssertionError("no heap_live_bytes: build with --bin-features heap-stats")


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


def proc_ip(address):
    """An IPv4 address as /proc/net/tcp writes it (the kernel's 32-bit word in this machine's
    byte order)."""
    return "%08X" % struct.unpack("=I", socket.inet_aton(address))[0]


def server_side(ports):
    """(server port, peer address as /proc writes it, peer port) -> TCP state (hex, "01" for
    ESTABLISHED) of the servers' IPv4 sockets on `ports`, listeners left out."""
    found = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if port in ports and fields[3] != "0A":
                peer, peer_port = fields[2].split(":")
                found[(port, peer, int(peer_port, 16))] = fields[3]
    return found


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


# ----- the hostile share ---------------------------------------------------------------------

IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)  # Linux


class Share:
    """What the hostile share sent and what came back, per kind."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = collections.Counter()
        self.answers = {kind: collections.Counter() for kind in HOSTILE_ALLOWED}
        self.errors = {kind: collections.Counter() for kind in HOSTILE_ALLOWED}
        self.cookies = 0  # pending cookies replayed
        self.right_cookies = 0  # ... with their right state: each may reach the provider once per instance
        self.hogs = collections.Counter()
        self.hog_answers = collections.Counter()
        self.hog_errors = collections.Counter()
        self.hog_held = {}  # server port -> most hog connections it held at once (sampled each second)
        self.never_read = collections.Counter()
        self.never_read_errors = collections.Counter()
        self.never_read_cut_after = []  # seconds from open to the server letting go
        self.never_read_late = 0  # still held by the server NEVER_READ_CUT_WITHIN after being opened
        self.crashed = []  # senders that stopped on an exception of their own

    def guarded(self, target, *args):
        """A sender's thread: an exception of its own is recorded (and fails the run)."""
        def run():
            try:
                target(*args)
            except Exception as error:  # noqa: BLE001 -- recorded, reported
                with self.lock:
                    self.crashed.append(f"{target.__name__}: {type(error).__name__}: {error}"[:160])
        return threading.Thread(target=run)

    def error(self, counter, error):
        with self.lock:
            counter[f"{type(error).__name__}: {error}"[:100]] += 1


class Pace:
    """At most `per_second` passes through wait() a second; wait() is False once past the
    deadline."""

    def __init__(self, per_second, deadline):
        self.interval = 1 / per_second
        self.next = time.time()
        self.deadline = deadline

    def wait(self):
        now = time.time()
        if self.next > now:
            time.sleep(min(self.next - now, max(0.0, self.deadline - now)))
        self.next = max(self.next, time.time()) + self.interval
        return time.time() < self.deadline


def attempt(share, kind, client, method, url, body=None, headers=None):
    """One hostile request, counted by its answer's status or as an error; the answer or None."""
    with share.lock:
        share.sent[kind] += 1
    try:
        answer = client.request(method, url, body, headers)
    except Exception as error:  # noqa: BLE001 -- counted, never kills the sender
        share.error(share.errors[kind], error)
        return None
    with share.lock:
        share.answers[kind][answer[0]] += 1
    return answer


def start_pending(share, client, app):
    """GET /auth/login without following the redirect: the pending sign-in's cookie ("name=value")
    and the state the provider would send back, or None."""
    kind = "pending sign-ins started"
    answer = attempt(share, kind, client, "GET", f"{app}/auth/login?return_to=/")
    if answer is None or answer[0] != 303:
        return None
    response = answer[1]
    cookie = None
    for header in response.msg.get_all("Set-Cookie") or []:
        pair = header.split(";", 1)[0].strip()
        name, _, value = pair.partition("=")
        if name.endswith("issues_pending") and value:
            cookie = pair
    query = urllib.parse.urlsplit(response.getheader("Location", "")).query
    state = urllib.parse.parse_qs(query).get("state", [None])[0]
    if cookie is None or state is None:
        with share.lock:
            share.errors[kind]["303 without a pending cookie or a state"] += 1
        return None
    return cookie, state


def callback_url(app, state, issuer):
    """The provider's redirect back as an attacker writes it: a junk code, the given state and
    the right issuer (RFC 9207; without it the app refuses before it would call the provider)."""
    query = urllib.parse.urlencode({"code": f"junk-{uuid.uuid4().hex}", "state": state, "iss": issuer})
    return f"{app}/auth/callback?{query}"


def replayed_cookies(instances, issuer, deadline, share):
    """Pending cookies replayed, REPLAYS_PER_COOKIE times each across the instances: every other
    cookie with a wrong state, the others with their right state and a junk code."""
    client = Client(source=ABUSE_SOURCE, jar=False, timeout=60)
    pace = Pace(REPLAYS_PER_SECOND, deadline)
    series = 0
    while pace.wait():
        started = start_pending(share, client, instances[series % len(instances)])
        if started is None:
            continue
        cookie, state = started
        right = series % 2 == 1
        series += 1
        with share.lock:
            share.cookies += 1
            share.right_cookies += right
        for n in range(REPLAYS_PER_COOKIE):
            if n and not pace.wait():
                break
            given = state if right else f"wrong-{uuid.uuid4().hex}"
            attempt(share, "replayed pending cookies", client, "GET",
                    callback_url(instances[n % len(instances)], given, issuer), headers={"Cookie": cookie})
    client.close()


def anonymous_sign_outs(instances, hosted, deadline, share):
    """POST /auth/logout from the app's own origin with no session."""
    client = Client(source=ABUSE_SOURCE, jar=False, timeout=60)
    pace = Pace(SIGN_OUTS_PER_SECOND, deadline)
    n = 0
    while pace.wait():
        attempt(share, "anonymous sign-outs", client, "POST", f"{instances[n % len(instances)]}/auth/logout", "",
                {"Origin": hosted, "Content-Type": "application/x-www-form-urlencoded"})
        n += 1
    client.close()


def junk_exchanges(instances, issuer, deadline, share):
    """A fresh pending sign-in each time, its callback sent once with its right state and a junk
    code: the app calls the provider's token endpoint, which refuses the code."""
    client = Client(source=ABUSE_SOURCE, jar=False, timeout=60)
    pace = Pace(JUNK_EXCHANGES_PER_SECOND, deadline)
    n = 0
    while pace.wait():
        started = start_pending(share, client, instances[n % len(instances)])
        n += 1
        if started is not None:
            cookie, state = started
            attempt(share, "junk code exchanges", client, "GET",
                    callback_url(instances[n % len(instances)], state, issuer), headers={"Cookie": cookie})
    client.close()


def costly_searches(n, instances, tokens, deadline, together, share):
    """John searching every soak title (status all, so every status is counted too): even
    searchers through the REST API with his token, odd ones through the server function signed
    in; the SEARCHERS of them send each round together (`together`, a barrier)."""
    rest = n % 2 == 0
    kind = "costly searches (REST)" if rest else "costly searches (server fn)"
    client = Client({"Sec-Fetch-Site": "same-origin"}, timeout=60)
    if not rest:
        try:
            sign_in(client, instances[n % len(instances)], JOHN)
        except Exception as error:  # noqa: BLE001 -- counted
            share.error(share.errors[kind], error)
            together.abort()
            return
    query = urllib.parse.urlencode({"q": SEARCH_WORD, "status": "all"})
    form = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    pace = Pace(SEARCHES_PER_SECOND, deadline)
    while pace.wait():
        try:
            together.wait(timeout=90)
        except threading.BrokenBarrierError:
            break
        app = instances[n % len(instances)]
        n += 1
        if rest:
            attempt(share, kind, client, "GET", f"{app}/api/v1/issues?{query}&limit=100",
                    headers={"Authorization": f"Bearer {tokens['john']}"})
        else:
            attempt(share, kind, client, "POST", f"{app}/api/list_issues", query, form)
    together.abort()  # the others stop at their next round too
    client.close()


def slot_hogs(ports, per_instance, deadline, share):
    """`per_instance` connections to each server from HOG_SOURCE, each sending half a request
    head and waiting; renewed when the server cuts or refuses them, each at most once a second and
    HOG_OPENS_PER_SECOND in all. Samples each second how many the servers hold."""
    head = b"GET /api/v1/issues HTTP/1.1\r\nHost: soak\r\nX-Hog: "
    source = proc_ip(HOG_SOURCE)
    selector = selectors.DefaultSelector()
    slots = [{"port": port, "sock": None, "opened": 0.0, "next": 0.0, "answer": None, "late": False}
             for _ in range(per_instance) for port in ports]  # the instances in turn
    per_tick = max(1, HOG_OPENS_PER_SECOND // 20)  # the loop turns about every 50 ms
    sampled = 0.0

    def finish(slot, reset):
        selector.unregister(slot["sock"])
        slot["sock"].close()
        slot["sock"] = None
        now = time.time()
        slot["next"] = max(now, slot["opened"] + 1)
        with share.lock:
            if slot["answer"] is not None:
                share.hog_answers[slot["answer"]] += 1
            elif reset:
                share.hog_errors["reset without an answer"] += 1
            elif now - slot["opened"] >= HEADER_TIMEOUT - 0.5:
                share.hogs["cut at the header timeout"] += 1
            else:
                share.hogs["closed early without an answer"] += 1

    try:
        while time.time() < deadline:
            now = time.time()
            budget = per_tick
            for slot in slots:
                if budget == 0 or time.time() >= deadline:
                    break
                if slot["sock"] is not None or slot["next"] > now:
                    continue
                budget -= 1
                slot.update(opened=now, next=now + 1, answer=None, late=False)
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                    sock.bind((HOG_SOURCE, 0))
                    sock.settimeout(2)
                    sock.connect(("127.0.0.1", slot["port"]))
                    sock.sendall(head)
                    sock.setblocking(False)
                except OSError as error:
                    sock.close()
                    share.error(share.hog_errors, error)
                    continue
                slot["sock"] = sock
                selector.register(sock, selectors.EVENT_READ, slot)
                with share.lock:
                    share.hogs["opened"] += 1
            for key, _ in selector.select(timeout=0.05):
                slot = key.data
                try:
                    data = slot["sock"].recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    finish(slot, True)
                    continue
                if not data:
                    finish(slot, False)
                elif slot["answer"] is None and data.startswith(b"HTTP/"):
                    fields = data.split(b" ", 2)
                    slot["answer"] = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else "unreadable"
            if time.time() - sampled >= 1:
                sampled = time.time()
                held = collections.Counter(port for (port, peer, _), state in server_side(ports).items()
                                           if peer == source and state == "01")
                late = [slot for slot in slots if slot["sock"] is not None and not slot["late"]
                        and sampled - slot["opened"] > HEADER_TIMEOUT + 10]
                with share.lock:
                    for port in ports:
                        share.hog_held[port] = max(share.hog_held.get(port, 0), held[port])
                    share.hogs["held past the header timeout + 10 s"] += len(late)
                for slot in late:
                    slot["late"] = True
    finally:
        for slot in slots:
            if slot["sock"] is not None:
                with share.lock:
                    share.hogs["held at the end"] += 1
                selector.unregister(slot["sock"])
                slot["sock"].close()
        selector.close()


def never_read(ports, request_for, deadline, share):
    """NEVER_READERS_PER_INSTANCE connections to each server from NEVER_READ_SOURCE, each with a
    tiny receive buffer, sending NEVER_READ_PIPELINE GETs for a large answer and never reading.
    Watched from the server's side (/proc/net/tcp): when the server lets go of one (its socket
    leaves ESTABLISHED) it is closed here and renewed, at most once a second."""
    source = proc_ip(NEVER_READ_SOURCE)
    slots = [{"port": port, "sock": None, "opened": 0.0, "next": 0.0, "local": 0, "late": False}
             for port in ports for _ in range(NEVER_READERS_PER_INSTANCE)]
    try:
        while time.time() < deadline:
            now = time.time()
            for slot in slots:
                if slot["sock"] is not None or slot["next"] > now:
                    continue
                slot.update(opened=now, next=now + 1, late=False)
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)  # before connect: the window
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                    sock.bind((NEVER_READ_SOURCE, 0))
                    sock.settimeout(2)
                    sock.connect(("127.0.0.1", slot["port"]))
                    sock.sendall(request_for(slot["port"]) * NEVER_READ_PIPELINE)
                except OSError as error:
                    sock.close()
                    share.error(share.never_read_errors, error)
                    continue
                slot["sock"] = sock
                slot["local"] = sock.getsockname()[1]
                with share.lock:
                    share.never_read["opened"] += 1
            time.sleep(min(0.5, max(0.0, deadline - time.time())))
            states = server_side(ports)
            now = time.time()
            for slot in slots:
                if slot["sock"] is None:
                    continue
                age = now - slot["opened"]
                if states.get((slot["port"], source, slot["local"])) == "01":
                    if age > NEVER_READ_CUT_WITHIN and not slot["late"]:
                        slot["late"] = True
                        with share.lock:
                            share.never_read_late += 1
                    continue
                # The server let go of it (FIN_WAIT with its answer unsent, or gone after a reset).
                slot["sock"].close()
                slot["sock"] = None
                slot["next"] = max(now, slot["opened"] + 1)
                with share.lock:
                    share.never_read["cut by the server"] += 1
                    share.never_read_cut_after.append(age)
    finally:
        for slot in slots:
            if slot["sock"] is not None:
                with share.lock:
                    share.never_read["held at the end"] += 1
                slot["sock"].close()  # unread data: a reset, so the server's side goes at once


def statuses(counter):
    return ", ".join(f"{status} ×{n:,}" for status, n in sorted(counter.items(), key=lambda item: str(item[0]))) or "none"


def errors_of(counter):
    total = sum(counter.values())
    return f"{total}" + (f" {sorted(counter.items(), key=lambda item: -item[1])[:3]}" if total else "")


# ----- the database ---------------------------------------------------------------------------

def sql_rows(backend, database, query):
    """The rows of `query` on the soak's database, NULL as ""."""
    if backend == "sqlite":
        with contextlib.closing(sqlite3.connect(database)) as db:
            return [tuple("" if value is None else value for value in row) for row in db.execute(query).fetchall()]
    psql = max(glob.glob("/usr/lib/postgresql/*/bin/psql"), key=lambda p: int(p.split("/")[4].split(".")[0]))
    out = subprocess.run([psql, database, "-At", "-F", "\t", "-c", query],
                         capture_output=True, text=True, check=True).stdout
    return [tuple(line.split("\t")) for line in out.splitlines() if line]


def stored_titles(backend, database):
    """title -> how many rows carry it, for the soak's titles."""
    query = "SELECT title, COUNT(*) FROM issues WHERE title LIKE 'soak-%' OR title LIKE 'forged-%' GROUP BY title"
    return {title: int(count) for title, count in sql_rows(backend, database, query)}


def audit_counts(backend, database):
    """The audit trail's rows in all, its sign-outs naming no one, and its refused sign-ins by
    reason."""
    total = int(sql_rows(backend, database, "SELECT COUNT(*) FROM audit_events")[0][0])
    anonymous = int(sql_rows(backend, database, "SELECT COUNT(*) FROM audit_events "
                                                "WHERE event LIKE 'sign_out%' AND actor_sub IS NULL")[0][0])
    refused = {str(detail): int(n) for detail, n in sql_rows(
        backend, database, "SELECT COALESCE(detail, ''), COUNT(*) FROM audit_events "
                           "WHERE event = 'sign_in' AND outcome = 'refused' GROUP BY COALESCE(detail, '')")}
    return {"total": total, "anonymous sign-outs": anonymous, "refused": refused}


def check_sources():
    """The hostile share's loopback addresses can be bound here (Linux routes 127.0.0.0/8 to lo)."""
    for source in (HOG_SOURCE, NEVER_READ_SOURCE, ABUSE_SOURCE):
        with socket.socket() as sock:
            try:
                sock.bind((source, 0))
            except OSError as error:
                raise SystemExit(f"soak: cannot bind {source} for the hostile share: {error}") from None


def raise_file_limit(count):
    """Lifts this process's open-file limit (the servers inherit it) to what the run holds; the
    hogs per instance, fewer if the hard limit does not allow them."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = 1 << 20 if hard == resource.RLIM_INFINITY else hard
    # Each worker's clients keep a connection to every instance and to the provider.
    others = (CONNECTIONS * (4 * count + 3) + count * NEVER_READERS_PER_INSTANCE + SEARCHERS * (count + 1)
              + SLOW_CLIENTS + 256)
    wanted = min(ceiling, max(soft, others + count * HOGS_PER_INSTANCE, MAX_OPEN_CONNECTIONS + 512))
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return max(16, min(HOGS_PER_INSTANCE, (wanted - others) // count))


# ----- one run ----------------------------------------------------------------------------------

def run_once(args, run):
    tmp = tempfile.mkdtemp(prefix="issues-soak.")
    count = 1 if args.backend == "sqlite" else 2
    hogs_per_instance = raise_file_limit(count)
    ports = [free_port() for _ in range(count)]
    metrics_ports = [free_port() for _ in range(count)]
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

    wasm = sorted(glob.glob(os.path.join(SITE, "pkg", "*.wasm")))
    large = f"/pkg/{os.path.basename(wasm[0])}" if wasm else "/api/v1/issues?status=all&limit=100"
    large_size = os.path.getsize(wasm[0]) if wasm else 0

    tally = Tally()
    share = Share()
    hook = Hook()
    secret_file = os.path.join(tmp, "webhook.secret")
    with open(secret_file, "w") as f:
        f.write(WEBHOOK_SECRET)
    live = {"lock": threading.Lock(), "heard": [], "ended early": 0, "failed": []}
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
                "Webhooks": [{"Url": hook.url, "SecretFile": secret_file, "AllowPrivateAddress": True}],
                "Server": {"ListenAddress": f"127.0.0.1:{port}", "DataDir": tmp,
                           "CodeExchangesPerMinute": CODE_EXCHANGES_PER_MINUTE,
                           "SessionKey": base64.b64encode(b"k" * 32).decode(),
                           "HeaderTimeoutSeconds": HEADER_TIMEOUT,
                           "MaxOpenConnections": MAX_OPEN_CONNECTIONS,
                           "MaxConnectionsPerClient": MAX_CONNECTIONS_PER_CLIENT,
                           "WriteTimeoutSeconds": WRITE_TIMEOUT,
                           "MetricsListen": f"127.0.0.1:{metrics_ports[index]}",
                           "WebhookFirstRetrySeconds": 1,
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
                    raise SystemExit(f"soak: {instance} did not become ready (logs in {tmp})")
                time.sleep(0.2)
        tokens = {"john": password_token(idp_org, JOHN), "emily": password_token(idp_org, EMILY)}
        status, _, payload = Client().request("GET", f"{idp_org}/oauth2/token/.well-known/openid-configuration")
        assert status == 200, f"discovery {status}"
        issuer = json.loads(payload)["issuer"]

        def request_for(port):
            if wasm:
                return (f"GET {large} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                        "Accept-Encoding: identity\r\n\r\n").encode()
            return (f"GET {large} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Authorization: Bearer {tokens['john']}\r\n\r\n").encode()

        time.sleep(1)
        rss_start = [rss_mb(s.pid) for s in servers]
        heap_start = [heap_mb(p) for p in metrics_ports]
        baseline = [open_connections(port) for port in ports]
        audit_before = audit_counts(args.backend, database)

        started = time.time()
        deadline = started + args.seconds
        threads = [threading.Thread(target=worker, args=(n, instances, idp_org, tokens, deadline, tally))
                   for n in range(CONNECTIONS)]
        threads += [threading.Thread(target=slow_client, args=(ports[n % count], deadline, tally))
                    for n in range(SLOW_CLIENTS)]
        together = threading.Barrier(SEARCHERS)
        hostile = [share.guarded(replayed_cookies, instances, issuer, deadline, share),
                   share.guarded(anonymous_sign_outs, instances, hosted, deadline, share),
                   share.guarded(junk_exchanges, instances, issuer, deadline, share),
                   share.guarded(slot_hogs, ports, hogs_per_instance, deadline, share),
                   share.guarded(never_read, ports, request_for, deadline, share)]
        hostile += [share.guarded(costly_searches, n, instances, tokens, deadline, together, share)
                    for n in range(SEARCHERS)]
        # Emily's pages, open on every instance, hearing every change.
        emily = Client()
        sign_in(emily, instances[0], EMILY)
        cookie = "; ".join(f"{k}={v}" for k, v in emily.cookies.get("127.0.0.1", {}).items())
        threads += [threading.Thread(target=live_stream, args=(instances[n % count], cookie, deadline, live))
                    for n in range(LIVE_STREAMS)]
        for thread in threads + hostile:
            thread.start()
        time.sleep(args.seconds / 2)
        rss_middle = [rss_mb(s.pid) for s in servers]
        heap_middle = [heap_mb(p) for p in metrics_ports]
        idp.send_signal(signal.SIGHUP)  # the IdP rotates its signing key
        tokens["john"] = password_token(idp_org, JOHN)  # new tokens carry the new key
        tokens["emily"] = password_token(idp_org, EMILY)
        for thread in threads + hostile:
            thread.join()
        elapsed = time.time() - started
        # Every change reaches the webhook, once.
        changes = int(sql_rows(args.backend, database, "SELECT last FROM outbox_counter")[0][0])
        settle = time.time() + WEBHOOK_SETTLE_SECONDS
        while time.time() < settle and len(hook.ids) < changes:
            time.sleep(0.5)

        # Open connections back to where they were (idle keep-alives close within the timeout).
        settle = time.time() + HEADER_TIMEOUT + 10
        while time.time() < settle and any(open_connections(p) > b for p, b in zip(ports, baseline)):
            time.sleep(0.5)
        after = [open_connections(port) for port in ports]
        rss_end = [rss_mb(s.pid) for s in servers]
        heap_end = [heap_mb(p) for p in metrics_ports]
        stored = stored_titles(args.backend, database)
        audit_after = audit_counts(args.backend, database)
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
    print(f"issues-app soak — {label} — run {run} of {args.runs} — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"{CONNECTIONS} connections + {SLOW_CLIENTS} slow clients + the hostile share for {elapsed:.0f} s "
          f"on {os.cpu_count()} cores; signing key rotated at {args.seconds // 2} s")
    print(f"requests: {tally.requests:,} ({tally.requests / elapsed:,.0f}/s); a whole sign-in counts as one; "
          f"{tally.resent} sent again on a new connection after the server closed an idle one")
    for kind, n in sorted(tally.by_kind.items()):
        print(f"  {kind:<40} {n:>8,}")
    print(f"5xx answers: {len(tally.server_errors)}")
    heard = live["heard"]
    print(f"live streams: {len(heard)} of {LIVE_STREAMS} open to the end, each heard {min(heard, default=0):,} to "
          f"{max(heard, default=0):,} changes; ended early: {live['ended early']}, failed: {len(live['failed'])}")
    duplicates = sum(n - 1 for n in hook.ids.values() if n > 1)
    print(f"webhook: {len(hook.ids):,} of {changes:,} changes delivered, {duplicates} twice, "
          f"{hook.bad} bad signatures")
    print(f"unexpected answers: {len(tally.unexpected)} {sorted(set(tally.unexpected))[:5]}")
    print(f"failed requests: {len(tally.failures)} {tally.failures[:3]}")
    print(f"acknowledged creates: {len(tally.acknowledged):,}; stored exactly once: "
          f"{len(tally.acknowledged) - len(missing) - len(doubled):,}; missing {len(missing)}; doubled {len(doubled)}")
    print(f"forged creates sent: {tally.forged:,}; stored: {len(forged)}")
    print(f"slow clients cut by the server: {tally.slow_cut}; still open after {HEADER_TIMEOUT + 10} s: {tally.slow_open}")

    # The hostile share, one line per kind: sent, answered by status, errors.
    print(f"hostile share (hogs from {HOG_SOURCE}, never-read from {NEVER_READ_SOURCE}, sign-in and sign-out "
          f"abuse from {ABUSE_SOURCE}, searches by John from 127.0.0.1):")
    hostile_unexpected = []
    for kind, allowed in HOSTILE_ALLOWED.items():
        answers, errors = share.answers[kind], share.errors[kind]
        note = ""
        if kind == "replayed pending cookies":
            note = f" ({share.cookies} cookies, {share.right_cookies} with their right state)"
        print(f"  {kind:<28} sent {share.sent[kind]:>7,}; answered {statuses(answers)}; "
              f"errors {errors_of(errors)}{note}")
        hostile_unexpected += [(kind, status, n) for status, n in answers.items() if status not in allowed]
    held = ", ".join(f"{share.hog_held.get(port, 0)}" for port in ports)
    print(f"  {'slot hogs':<28} opened {share.hogs['opened']:>7,} ({hogs_per_instance} per instance); "
          f"answered {statuses(share.hog_answers)}; cut at the header timeout {share.hogs['cut at the header timeout']:,}; "
          f"closed early without an answer {share.hogs['closed early without an answer']:,}; "
          f"held past {HEADER_TIMEOUT + 10} s {share.hogs['held past the header timeout + 10 s']:,}; "
          f"held at the end {share.hogs['held at the end']:,}; errors {errors_of(share.hog_errors)}; "
          f"most held by the server at once {held} (cap {MAX_CONNECTIONS_PER_CLIENT} per client)")
    cut_after = sorted(share.never_read_cut_after)
    cut_note = (f" after {cut_after[len(cut_after) // 2]:.1f} s (median), {cut_after[-1]:.1f} s at most"
                if cut_after else "")
    print(f"  {'never-read answers':<28} opened {share.never_read['opened']:>7,} "
          f"(GET {large} ×{NEVER_READ_PIPELINE}{f', {large_size / 1e6:.1f} MB each' if large_size else ''}); "
          f"cut by the server {share.never_read['cut by the server']:,}{cut_note}; "
          f"held past {NEVER_READ_CUT_WITHIN} s {share.never_read_late}; "
          f"held at the end {share.never_read['held at the end']:,}; errors {errors_of(share.never_read_errors)}")
    hostile_5xx = sum(n for _, status, n in hostile_unexpected if status >= 500)
    print(f"  hostile answers it was not designed to get: {sum(n for *_, n in hostile_unexpected)} "
          f"({hostile_5xx} of them 5xx) {sorted(hostile_unexpected)[:5]}")

    # The audit trail: what the hostile share may add, and what it did.
    refused_added = {reason: n - audit_before["refused"].get(reason, 0)
                     for reason, n in audit_after["refused"].items() if n != audit_before["refused"].get(reason, 0)}
    refusals = sum(refused_added.values())
    anonymous_added = audit_after["anonymous sign-outs"] - audit_before["anonymous sign-outs"]
    unrecorded = {reason: n for reason, n in refused_added.items() if reason in UNRECORDED_REFUSALS}
    junk = share.answers["junk code exchanges"]
    junk_reached = share.sent["junk code exchanges"] - junk.get(429, 0)  # errors included: they may have got through
    windows = math.ceil(elapsed / 60) + 1  # fixed one-minute windows: a run can straddle one more
    junk_limit = CODE_EXCHANGES_PER_MINUTE * windows * count
    replay_bound = share.right_cookies * count  # a cookie is redeemed once per instance
    bound = replay_bound + min(junk_reached, junk_limit) + AUDIT_SLACK
    print(f"audit rows: {audit_after['total'] - audit_before['total']:,} added in all (the legitimate sign-ins, "
          f"sign-outs, creates and refused forgeries included)")
    print(f"  sign-in refusals added: {refusals:,} {dict(sorted(refused_added.items()))}; bound {bound:,} = "
          f"{share.right_cookies} right-state replayed cookies × {count} instance(s) + "
          f"{min(junk_reached, junk_limit):,} junk exchanges not answered 429 (of at most "
          f"CodeExchangesPerMinute {CODE_EXCHANGES_PER_MINUTE:,} × {windows} windows × {count} instance(s) "
          f"= {junk_limit:,}) + slack {AUDIT_SLACK}")
    print(f"  sign-outs naming no one added: {anonymous_added} (bound 0: a sign-out that ended nothing is not "
          f"recorded); refusals of kinds never recorded ({', '.join(UNRECORDED_REFUSALS)}): {sum(unrecorded.values())}")
    for index in range(count):
        print(f"instance {index + 1}: RSS {rss_start[index]:.0f} MB -> {rss_middle[index]:.0f} MB (middle) -> "
              f"{rss_end[index]:.0f} MB; open connections {baseline[index]} before, {after[index]} after")
        print(f"instance {index + 1}: live heap {heap_start[index]:.1f} MB -> {heap_middle[index]:.1f} MB (middle) -> "
              f"{heap_end[index]:.1f} MB (counted by the allocator; RSS beyond it is kept by the allocator)")

    problems = []
    if len(heard) != LIVE_STREAMS or live["ended early"] or live["failed"] or min(heard, default=0) == 0:
        problems.append(f"live streams: {LIVE_STREAMS - len(heard)} not open to the end, {live['ended early']} ended "
                        f"early, {live['failed'][:3]} failed, the least heard {min(heard, default=0)} changes")
    if len(hook.ids) != changes or duplicates or hook.bad:
        problems.append(f"webhook: {changes - len(hook.ids)} changes lost, {duplicates} delivered twice, "
                        f"{hook.bad} bad signatures")
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
    if hostile_unexpected:
        problems.append(f"hostile share: {sum(n for *_, n in hostile_unexpected)} answers it was not designed to "
                        f"get ({hostile_5xx} of them 5xx) {sorted(hostile_unexpected)[:5]}")
    failed_hostile = {kind: sum(share.errors[kind].values()) for kind in HOSTILE_ALLOWED if share.errors[kind]}
    if failed_hostile:
        problems.append(f"hostile share: requests without an answer {failed_hostile}")
    idle = [kind for kind in HOSTILE_ALLOWED if not share.answers[kind]]
    if idle or not share.hogs["opened"] or not share.never_read["opened"]:
        problems.append(f"hostile share did not run: {idle or 'hogs or never-read connections'}")
    if any(share.hog_held.get(port, 0) > MAX_CONNECTIONS_PER_CLIENT + HOG_HELD_SLACK for port in ports):
        problems.append(f"a server held more hog connections than MaxConnectionsPerClient "
                        f"({MAX_CONNECTIONS_PER_CLIENT} + {HOG_HELD_SLACK})")
    if share.hogs["held past the header timeout + 10 s"]:
        problems.append(f"{share.hogs['held past the header timeout + 10 s']} slot hogs not cut within "
                        f"{HEADER_TIMEOUT + 10} s")
    if share.crashed:
        problems.append(f"hostile senders stopped on their own errors: {share.crashed}")
    if share.never_read_late:
        problems.append(f"{share.never_read_late} never-read connections held past {NEVER_READ_CUT_WITHIN} s")
    if refusals > bound:
        problems.append(f"{refusals} sign-in refusals recorded, more than the bound {bound}")
    if anonymous_added or unrecorded:
        problems.append(f"{anonymous_added} sign-outs naming no one and {sum(unrecorded.values())} refusals "
                        f"of unrecorded kinds were recorded")
    # A panic in a server task (e.g. while streaming a page) strands that answer; none may happen.
    panics = []
    for log in sorted(glob.glob(os.path.join(tmp, "issues-app-*.log"))):
        with open(log, errors="replace") as f:
            panics += [f"{os.path.basename(log)}: {line.strip()}"[:200] for line in f if " panicked at " in line]
    print(f"panics in the servers' logs: {len(panics)} {panics[:3]}")
    if panics:
        problems.append(f"{len(panics)} panics in the servers' logs")
    if problems:
        print(f"SOAK FAILED (run {run}): " + "; ".join(problems))
        print(f"logs kept in {tmp}")
        return False
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"soak passed (run {run}): 0 errors, no panics, nothing lost, nothing forged, the hostile share answered as designed "
          f"and within the audit bound, connections and memory back in bounds")
    return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--url", help="PostgreSQL URL (postgres backend)")
    parser.add_argument("--seconds", type=int, default=int(os.environ.get("SOAK_SECONDS", "60")))
    parser.add_argument("--runs", type=int, default=int(os.environ.get("SOAK_RUNS", "1")),
                        help="the whole soak this many times in a row (default 1, or SOAK_RUNS)")
    args = parser.parse_args()
    for binary in (SERVER, IDP):
        if not os.path.exists(binary):
            raise SystemExit(f"soak: {binary} is missing; run bench/soak")
    if args.backend == "postgres" and not args.url:
        raise SystemExit("soak: --url is required with --backend postgres")
    if args.runs < 1:
        raise SystemExit("soak: --runs must be at least 1")
    check_sources()
    results = [run_once(args, run) for run in range(1, args.runs + 1)]
    passed = sum(results)
    print()
    print(f"soak {args.backend}: {passed} of {args.runs} runs passed "
          f"({', '.join('pass' if ok else 'FAIL' for ok in results)}) — {'PASS' if passed == args.runs else 'FAIL'}")
    return 0 if passed == args.runs else 1


if __name__ == "__main__":
    sys.exit(main())
