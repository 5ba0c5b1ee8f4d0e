#!/usr/bin/env python3
"""Export/import at scale: a database of N issues (a comment on every tenth, a tenth closed,
a hundredth deleted) is exported, imported into an empty database and exported again. Prints
each step's time and the command's peak RSS, and whether the two exports are identical.

    bench/transfer            (TRANSFER_ISSUES=100000; the release binary is built if missing)
"""

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time

ISSUES = int(os.environ.get("TRANSFER_ISSUES", "100000"))
BINARY = os.path.abspath(os.environ.get("ISSUES_APP_BINARY", "target/release/issues-app"))


def config(directory):
    """A config.json whose database is in `directory` (the provider is never called)."""
    path = os.path.join(directory, "config.json")
    with open(path, "w") as file:
        json.dump(
            {
                "AuthorizationConfig": {"BaseOrganizationUrl": "https://api.asgardeo.io/t/bench"},
                "ApplicationConfig": {
                    "HostedUrl": "http://localhost:3000",
                    "ClientId": "bench",
                    "ClientSecret": "bench",
                    "APIScopes": ["openid"],
                },
                "Features": {"Issues": {"scopes": {"create": ["issues:create"], "view": ["issues:view"]}}},
                "Server": {"DataDir": directory},
            },
            file,
        )
    return path


def run(*args):
    """Runs the binary under GNU time; answers (seconds, its peak RSS in MiB, what it said).
    (Not this process's rusage: a child forked from here starts with this process's memory,
    and its peak would count it.)"""
    started = time.monotonic()
    done = subprocess.run(["/usr/bin/time", "-f", "peak-rss-kib %M", BINARY, *args], capture_output=True, text=True)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        sys.exit(f"issues-app {' '.join(args)} failed:\n{done.stderr}")
    said, peak = [], 0
    for line in done.stderr.splitlines():
        if line.startswith("peak-rss-kib "):
            peak = int(line.split()[1])
        else:
            said.append(line)
    return seconds, peak / 1024, " ".join(said).strip()


def fill(database):
    """N issues as the app stores them, written behind its back (triggers keep counts and search)."""
    db = sqlite3.connect(database)
    rows = []
    for n in range(1, ISSUES + 1):
        closed = n % 10 == 0
        rows.append(
            (
                f"Issue {n}: the printer on floor {n % 7} jams",
                f"Seen since Monday by team {n % 13}. " * 4,
                f"user-{n % 50}",
                f"User {n % 50}",
                1_764_000_000_000 + n,
                "closed" if closed else "open",
                1_764_000_000_000 + n,
                1_764_000_100_000 + n if closed else None,
                f"user-{n % 50}" if closed else None,
                f"User {n % 50}" if closed else None,
                1_764_000_200_000 + n if n % 100 == 0 else None,
            )
        )
    db.executemany(
        "INSERT INTO issues (title, description, author_sub, author_name, created_at, status, updated_at, "
        "closed_at, closed_by_sub, closed_by_name, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    comments = [(n, f"A comment on issue {n}", "user-1", "User 1", 1_764_000_300_000 + n) for n in range(10, ISSUES + 1, 10)]
    db.executemany(
        "INSERT INTO comments (issue_id, body, author_sub, author_name, created_at) VALUES (?, ?, ?, ?, ?)", comments
    )
    db.execute("UPDATE issues SET comment_count = 1 WHERE id % 10 = 0")
    db.executemany(
        "INSERT INTO people (sub, name, last_seen_at) VALUES (?, ?, ?)",
        [(f"user-{n}", f"User {n}", 1_764_000_000 + n) for n in range(50)],
    )
    db.commit()
    db.close()


def main():
    if not os.path.exists(BINARY):
        sys.exit(f"{BINARY} is missing: build it (bench/transfer does)")
    with tempfile.TemporaryDirectory() as work:
        source, target = os.path.join(work, "source"), os.path.join(work, "target")
        os.makedirs(source)
        os.makedirs(target)
        source_config, target_config = config(source), config(target)
        first, second = os.path.join(work, "first.jsonl"), os.path.join(work, "second.jsonl")
        # Importing nothing makes (and migrates) the database; then the issues go in.
        empty = os.path.join(work, "empty.jsonl")
        with open(empty, "w") as file:
            file.write('{"kind":"issues-app-export","version":1,"migrations":[]}\n')
        run("import", empty, "--config", source_config)
        fill(os.path.join(source, "issues.db"))
        rows = [
            ("export", *run("export", "--to", first, "--config", source_config)),
            ("import", *run("import", first, "--config", target_config)),
            ("export again", *run("export", "--to", second, "--config", target_config)),
        ]
        size = os.path.getsize(first) / 1024 / 1024
        with open(first, "rb") as a, open(second, "rb") as b:
            identical = a.read() == b.read()
    print(f"\nexport/import of {ISSUES} issues ({size:.1f} MiB of JSON Lines)")
    print(f"{'step':<14}{'seconds':>9}{'peak RSS MiB':>14}  said")
    for step, seconds, peak, said in rows:
        print(f"{step:<14}{seconds:>9.2f}{peak:>14.1f}  {said.removeprefix('issues-app: ')}")
    print(f"round trip identical: {'yes' if identical else 'NO'}")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
