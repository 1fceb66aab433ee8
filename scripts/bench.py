#!/usr/bin/env python3
"""Afisha benchmark: `make bench`.

Starts the release binary on loopback with a fresh data dir seeded directly
(2 000 users, 1 000 events — 500 upcoming, 500 past — and 20 000
participations), drives `wrk` at concurrency 64 for a fixed time per
scenario, and prints (and writes to BENCHMARKS.md) requests/s, latency
percentiles, errors, the ratio to the `GET /api/health` ceiling of the same
run, peak RSS, start-up time and binary size.

Environment: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 64),
AFISHA_BIN (default target/release/afisha), BENCH_ONLY (comma-separated
words; only scenarios whose name contains one run, the health ceiling always
runs, and BENCHMARKS.md is left alone — for comparing two binaries).
"""

import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("AFISHA_BIN", os.path.join(ROOT, "target", "release", "afisha"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
ONLY = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]
THREADS = 2
PASSWORD = "bench-password-1"
NOW_US = int(time.time() * 1_000_000)
HOUR_US = 3_600_000_000

LUA_COMMON = r"""
local uid, token = os.getenv("BENCH_UID"), os.getenv("BENCH_TOKEN")
wrk.headers["X-Login-Session-Uid"] = uid
wrk.headers["X-Login-Session-Token"] = token
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.stderr:write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "p50": %d, "p99": %d, "p999": %d, "errors": %d, "status_errors": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency:percentile(99.9), e.connect + e.read + e.write + e.timeout + e.status, e.status))
end
"""

LUA_PARTICIPATION = r"""
local ids = {}
for id in string.gmatch(os.getenv("BENCH_EVENTS"), "%d+") do ids[#ids + 1] = id end
local n = 0
local offset = 0
setup = function(thread) thread:set("offset", offset); offset = offset + 1 end
request = function()
  n = n + 1
  local i = (n * 2 + offset) % #ids + 1
  local status = (math.floor((n * 2 + offset) / #ids) % 2 == 0) and "PARTICIPATING" or "NONE"
  return wrk.format("PUT", "/api/events/" .. ids[i] .. "/participants/me", nil,
                    '{"status":"' .. status .. '"}')
end
"""

LUA_LOGIN = r"""
wrk.method = "POST"
wrk.body = '{"email":"' .. os.getenv("BENCH_EMAIL") .. '","password":"' .. os.getenv("BENCH_PASSWORD") .. '"}'
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def seed(data_dir):
    env = dict(os.environ, AFISHA_LOG="warn")
    run([BIN, "migrate", "--data-dir", data_dir], env=env)
    for email, extra in (("admin@bench.local", ["--admin"]), ("user@bench.local", [])):
        run([BIN, "user", "create", "--data-dir", data_dir, "--email", email, "--name", email,
             "--password-stdin", *extra], input=PASSWORD + "\n", env=env)
    db = sqlite3.connect(os.path.join(data_dir, "afisha.db"))
    (hash_,) = db.execute("SELECT password_hash FROM user WHERE email = 'user@bench.local'").fetchone()
    rng = random.Random(42)
    first_names = ["Анна", "Борис", "Вера", "Глеб", "Дарья", "Егор", "Жанна", "Илья", "Ксения", "Лев"]
    users = []
    for i in range(1998):
        name = f"{rng.choice(first_names)} Сотрудник {i}"
        users.append((f"employee{i}@bench.local", f"employee{i}@bench.local", name, name.lower(),
                      hash_, NOW_US - rng.randrange(400) * 24 * HOUR_US))
    db.executemany(
        "INSERT INTO user (email, email_key, full_name, full_name_fold, password_hash, role, created_at)"
        " VALUES (?, ?, ?, ?, ?, 'USER', ?)", users)
    events = []
    for i in range(1000):
        upcoming = i % 2 == 0
        start = NOW_US + (rng.randrange(2, 60 * 24) * HOUR_US if upcoming else -rng.randrange(2, 300 * 24) * HOUR_US)
        name = f"Событие {i}: {'встреча' if i % 3 else 'лекция'}"
        events.append((name, name.lower(), "Коротко о событии", "Подробное описание события. " * 4,
                       start, start + 2 * HOUR_US, f"https://images.bench.local/{i}.png",
                       None, None if i % 5 else 200, "Большой зал", start - 30 * 24 * HOUR_US))
    db.executemany(
        "INSERT INTO event (name, name_fold, short_description, description, starts_at, ends_at, image_url,"
        " payment_info, max_participants_count, location, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", events)
    user_ids = [r[0] for r in db.execute("SELECT id FROM user")]
    event_ids = [r[0] for r in db.execute("SELECT id FROM event")]
    pairs = set()
    while len(pairs) < 20000:
        pairs.add((rng.choice(event_ids), rng.choice(user_ids)))
    db.executemany(
        "INSERT INTO event_participant (event_id, user_id, status, created_at) VALUES (?, ?, ?, ?)",
        [(e, u, "PARTICIPATING" if rng.random() < 0.9 else "REJECTED", NOW_US - HOUR_US) for e, u in pairs])
    # Notifications for the user whose list is benchmarked.
    (uid,) = db.execute("SELECT id FROM user WHERE email = 'user@bench.local'").fetchone()
    db.executemany(
        "INSERT INTO instant_notification (recipient_id, type, title, content, cta_url, cta_label, created_at)"
        " VALUES (?, 'EVENT_UPDATED', ?, ?, 'http://x/events/1', 'Открыть', ?)",
        [(uid, f"Событие изменено {i}", "Текст уведомления " * 5, NOW_US - i * 1000) for i in range(300)])
    db.commit()
    upcoming = [r[0] for r in db.execute(
        "SELECT id FROM event WHERE starts_at > ? AND (max_participants_count IS NULL) ORDER BY id LIMIT 400", (NOW_US,))]
    db.close()
    return upcoming


def http(method, url, body=None, headers=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read()


def login(base, email):
    _, body = http("POST", base + "/api/login", {"email": email, "password": PASSWORD})
    j = json.loads(body)
    return j["login_session_uid"], j["login_session_token"]


def proc_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def peak_rss_kib(pid):
    return proc_kib(pid, "VmHWM")


def wrk(base, path, script, env, seconds=SECONDS):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA_COMMON + script)
        lua = f.name
    try:
        p = subprocess.run(["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds}s",
                            "--timeout", "10s", "-s", lua, base + path],
                           capture_output=True, text=True, env=dict(os.environ, **env))
    finally:
        os.unlink(lua)
    for line in p.stderr.splitlines():
        if line.startswith("BENCH "):
            r = json.loads(line[6:])
            r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
            return r
    raise RuntimeError(f"wrk failed: {p.stdout}\n{p.stderr}")


def ms(us):
    return f"{us / 1000:.2f}"


def main():
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    data_dir = tempfile.mkdtemp(prefix="afisha-bench-")
    t0 = time.time()
    upcoming = seed(data_dir)
    seed_secs = time.time() - t0
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # All load comes from 127.0.0.1: lift the per-address connection cap.
    env = dict(os.environ, AFISHA_LOG="warn", AFISHA_EMAIL__BACKEND="console",
               AFISHA_SERVER__MAX_CONNECTIONS_PER_IP="4096")
    started = time.perf_counter()
    server = subprocess.Popen([BIN, "serve", "--data-dir", data_dir, "--bind", f"127.0.0.1:{port}"],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if http("GET", base + "/api/health")[0] == 200:
                    break
            except Exception:
                time.sleep(0.002)
            if time.perf_counter() - started > 30:
                sys.exit("server did not start")
        startup_ms = (time.perf_counter() - started) * 1000
        admin = login(base, "admin@bench.local")
        user = login(base, "user@bench.local")
        as_user = {"BENCH_UID": user[0], "BENCH_TOKEN": user[1]}
        as_admin = {"BENCH_UID": admin[0], "BENCH_TOKEN": admin[1]}
        results = []

        def scenario(name, path, script, who, kind):
            if ONLY and kind != "ceiling" and not any(w in name for w in ONLY):
                return
            r = wrk(base, path, script, who)
            r.update(name=name, kind=kind, rss=proc_kib(server.pid, "VmRSS") / 1024,
                     hwm=proc_kib(server.pid, "VmHWM") / 1024)
            results.append(r)
            print(f"  {name:<44} {r['rps']:>9.0f} req/s  p99 {ms(r['p99'])} ms  rss {r['rss']:.0f} MiB (peak {r['hwm']:.0f})", flush=True)

        print(f"seeded in {seed_secs:.1f}s; server up in {startup_ms:.0f} ms; {SECONDS}s per scenario, c={CONNECTIONS}")
        scenario("GET /api/health (ceiling)", "/api/health", "", as_user, "ceiling")
        scenario("GET /api/events/cards", "/api/events/cards", "", as_user, "read")
        scenario("GET /api/login", "/api/login", "", as_user, "read")
        scenario("GET /api/notifications/instant", "/api/notifications/instant", "", as_user, "read")
        scenario("GET /api/statistics", "/api/statistics", "", as_admin, "read")
        scenario("PUT /api/events/{id}/participants/me", "/api/events/0/participants/me",
                 LUA_PARTICIPATION, dict(as_user, BENCH_EVENTS=",".join(map(str, upcoming))), "write")
        login_env = dict(as_user, BENCH_EMAIL="user@bench.local", BENCH_PASSWORD=PASSWORD)
        if ONLY and not any(w in "POST /api/login (Argon2id)" for w in ONLY):
            return
        # Logins saturated, and GET /api/login measured at the same time.
        side = {}
        t = threading.Thread(target=lambda: side.update(wrk(base, "/api/login", "", as_user)))
        t.start()
        scenario("POST /api/login (Argon2id)", "/api/login", LUA_LOGIN, login_env, "argon2")
        t.join()
        side.update(name="GET /api/login while logins saturate", kind="read-under-login")
        results.append(side)
        print(f"  {side['name']:<44} {side['rps']:>9.0f} req/s  p99 {ms(side['p99'])} ms")
        rss_mib = peak_rss_kib(server.pid) / 1024
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data_dir, ignore_errors=True)

    ceiling = next(r for r in results if r["kind"] == "ceiling")["rps"]
    size_mib = os.path.getsize(BIN) / (1024 * 1024)
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    lines = [
        "| scenario | req/s | p50 ms | p99 ms | p99.9 ms | errors | vs ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ratio = "—" if r["kind"] == "ceiling" else f"{r['rps'] / ceiling:.2f}"
        lines.append(f"| {r['name']} | {r['rps']:.0f} | {ms(r['p50'])} | {ms(r['p99'])} | {ms(r['p999'])} | {r['errors']} | {ratio} |")
    table = "\n".join(lines)
    facts = textwrap.dedent(f"""\
        - peak RSS of the server: **{rss_mib:.1f} MiB**
        - start-up to first `200` of `/api/health`: **{startup_ms:.0f} ms** (migrations already applied)
        - release binary size: **{size_mib:.1f} MiB**
        - machine: {os.cpu_count()} cores, {mem_gib:.0f} GiB, {platform.platform()}
        - data: 2 000 users, 1 000 events (500 upcoming, 500 past), 20 000 participations, 300 notifications
        - load: wrk, {THREADS} threads, {CONNECTIONS} connections, {SECONDS} s per scenario; server log level `warn`
        - date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}
    """)
    print()
    print(table)
    print()
    print(facts)
    if ONLY:
        return
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write("# Benchmarks\n\nReproduce with `make bench` (builds the release binary, installs `wrk` "
                "from apt if missing, seeds a fresh data dir, runs each scenario against `afisha serve` "
                "on loopback). Figures below are from the last run on the machine described.\n\n")
        f.write(table + "\n\n" + facts)
        notes = os.path.join(ROOT, "docs", "benchmark-notes.md")
        if os.path.exists(notes):
            with open(notes) as n:
                f.write(n.read())


if __name__ == "__main__":
    main()
