#!/usr/bin/env python3
"""Afisha benchmark: `make bench`.

Starts the release binary on loopback with a fresh data dir seeded directly
(2 000 users, 1 000 events — 500 upcoming, 500 past — and 20 000
participations), drives `wrk` at concurrency 64 for a fixed time per
scenario, and prints (and writes to BENCHMARKS.md) requests/s, latency
percentiles, errors, the ratio to the `GET /api/health` ceiling of the same
run, peak RSS, start-up time and binary size.

Backends (BENCH_BACKENDS, comma-separated; default all three when Debian's
PostgreSQL server binaries are installed, else `sqlite`):
- `sqlite`: one instance on the seeded SQLite file (the default install);
- `postgres`: one instance on PostgreSQL;
- `postgres-x2`: two instances on one PostgreSQL database; each scenario
  runs two `wrk` processes at once, one per instance with half the
  connections, and their throughputs are added (latency percentiles: the
  worse of the two).
PostgreSQL runs on a throwaway cluster (scripts/pg-cluster.sh), seeded with
the same rows: the SQLite seed is turned into `COPY` statements and loaded
with `psql`. With more than one backend the side-by-side table is printed
and added to BENCHMARKS.md under the SQLite one.

Environment: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (default 64),
AFISHA_BIN (default target/release/afisha), BENCH_ONLY (comma-separated
words; only scenarios whose name contains one run, the health ceiling always
runs, and BENCHMARKS.md is left alone — for comparing two binaries),
BENCH_BACKENDS (above), PG_BINDIR (PostgreSQL's binaries, default the newest
/usr/lib/postgresql/*/bin).
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
BACKEND_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL ×1", "postgres-x2": "PostgreSQL ×2"}
# The benchmark cluster: durable as SQLite is here (fsync on, commits not
# waited for: SQLite runs `synchronous = NORMAL` in WAL mode, which does not
# sync each commit either), otherwise PostgreSQL's defaults.
PG_OPTIONS = ["-c", "synchronous_commit=off", "-c", "max_connections=100"]
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
-- Each wrk thread (and each wrk process: BENCH_OFFSET) toggles its own events.
local offset = tonumber(os.getenv("BENCH_OFFSET") or "0")
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
    p = subprocess.run(args, capture_output=True, text=True, **kw)
    if p.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({p.returncode}):\n{p.stdout}{p.stderr}")
    return p


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


def wrk(base, path, script, env, seconds=SECONDS, threads=THREADS, connections=CONNECTIONS):
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(LUA_COMMON + script)
        lua = f.name
    try:
        p = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
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


def wrk_all(bases, path, script, env, seconds=SECONDS):
    """`wrk` against every instance at once, the connections and threads
    split between them; throughputs and counts added, percentiles the worse
    of the instances."""
    if len(bases) == 1:
        return wrk(bases[0], path, script, env, seconds)
    share = len(bases)
    out = [None] * share

    def one(i):
        # Thread offsets continue across the processes (BENCH_OFFSET).
        out[i] = wrk(bases[i], path, script, dict(env, BENCH_OFFSET=str(i * max(1, THREADS // share))),
                     seconds, max(1, THREADS // share), CONNECTIONS // share)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(share)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if any(r is None for r in out):
        raise RuntimeError("a wrk process failed")
    total = {k: sum(r[k] for r in out) for k in ("requests", "errors", "status_errors", "rps")}
    total.update({k: max(r[k] for r in out) for k in ("p50", "p99", "p999", "duration_us")})
    return total


def pg_bindir():
    env = os.environ.get("PG_BINDIR")
    if env:
        return env if os.path.exists(os.path.join(env, "initdb")) else None
    root = "/usr/lib/postgresql"
    if not os.path.isdir(root):
        return None
    found = [os.path.join(root, v, "bin") for v in os.listdir(root)
             if os.path.exists(os.path.join(root, v, "bin", "initdb"))]
    found.sort(key=lambda p: [int(x) if x.isdigit() else x for x in p.split("/")[-2].split(".")])
    return found[-1] if found else None


def csv_field(v):
    """One value for `COPY … (FORMAT csv)`: NULL is an empty unquoted field,
    text is quoted (so an empty string stays one), numbers are bare."""
    if v is None:
        return ""
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, bytes):
        v = "\\x" + v.hex()
    return '"' + str(v).replace('"', '""') + '"'


def pg_seed_sql(db_path, out_path):
    """Every seeded row of the SQLite file as `COPY … FROM STDIN` blocks for
    psql (the two schemas store the same values: README "PostgreSQL"), with
    the identity sequences moved past the copied ids."""
    db = sqlite3.connect(db_path)
    tables = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
        " AND name NOT LIKE 'refinery%' ORDER BY name")]
    with open(out_path, "w", newline="") as f:
        # Tables in name order: foreign keys are not checked while loading
        # (the rows come from a consistent database; the cluster's user is
        # its superuser).
        f.write("BEGIN;\nSET LOCAL session_replication_role = replica;\n")
        for table in tables:
            cols = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
            quoted = ", ".join(f'"{c}"' for c in cols)
            rows = db.execute(f'SELECT {quoted} FROM "{table}"').fetchall()
            if not rows:
                continue
            f.write(f'COPY "{table}" ({quoted}) FROM STDIN WITH (FORMAT csv);\n')
            for row in rows:
                f.write(",".join(csv_field(v) for v in row) + "\n")
            f.write("\\.\n")
            if "id" in cols:
                f.write(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'),"
                        f" (SELECT max(id) FROM \"{table}\"));\n")
        f.write("COMMIT;\nANALYZE;\n")
    db.close()


def database_url(cluster_url, name):
    return cluster_url.rsplit("/", 1)[0] + "/" + name


def pg_database(bindir, cluster_url, name, seed_sql, scratch):
    """A database `name` with the schema (`afisha migrate`) and the seed."""
    psql = os.path.join(bindir, "psql")
    run([psql, "-q", "-v", "ON_ERROR_STOP=1", "-d", cluster_url, "-c", f"CREATE DATABASE {name}"])
    url = database_url(cluster_url, name)
    run([BIN, "migrate", "--data-dir", scratch, "--database-url", url], env=dict(os.environ, AFISHA_LOG="warn"))
    run([psql, "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", seed_sql])
    return url


def start_server(data_dir, backend, database=None):
    """`afisha serve` on a free port; (process, base URL, ms to the first
    200 of /api/health). Checks that health names the expected backend."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # All load comes from 127.0.0.1: lift the per-address connection cap.
    env = dict(os.environ, AFISHA_LOG="warn", AFISHA_EMAIL__BACKEND="console",
               AFISHA_SERVER__MAX_CONNECTIONS_PER_IP="4096")
    args = [BIN, "serve", "--data-dir", data_dir, "--bind", f"127.0.0.1:{port}"]
    if database:
        args += ["--database-url", database]
    started = time.perf_counter()
    server = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            status, body = http("GET", base + "/api/health")
            if status == 200:
                break
        except Exception:
            if server.poll() is not None:
                sys.exit(f"the server exited ({server.returncode}): {' '.join(args)}")
            time.sleep(0.002)
        if time.perf_counter() - started > 30:
            server.kill()
            sys.exit("server did not start")
    startup_ms = (time.perf_counter() - started) * 1000
    reported = json.loads(http("GET", base + "/api/health?details=true")[1]).get("database")
    if reported != backend:
        server.kill()
        sys.exit(f"GET /api/health says database {reported!r}, expected {backend!r}")
    return server, base, startup_ms


def stop_server(server):
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.kill()


def ms(us):
    return f"{us / 1000:.2f}"


def scenarios(bases, servers, as_user, as_admin, upcoming):
    """Every scenario against `bases` (one or two instances); the results,
    with the largest RSS of the instances after each."""
    results = []

    def rss(field):
        return max(proc_kib(p.pid, field) for p in servers) / 1024

    def scenario(name, path, script, who, kind):
        if ONLY and kind != "ceiling" and not any(w in name for w in ONLY):
            return
        r = wrk_all(bases, path, script, who)
        r.update(name=name, kind=kind, rss=rss("VmRSS"), hwm=rss("VmHWM"))
        results.append(r)
        print(f"  {name:<44} {r['rps']:>9.0f} req/s  p99 {ms(r['p99'])} ms  rss {r['rss']:.0f} MiB (peak {r['hwm']:.0f})", flush=True)

    scenario("GET /api/health (ceiling)", "/api/health", "", as_user, "ceiling")
    scenario("GET /api/events/cards", "/api/events/cards", "", as_user, "read")
    scenario("GET /api/login", "/api/login", "", as_user, "read")
    scenario("GET /api/notifications/instant", "/api/notifications/instant", "", as_user, "read")
    scenario("GET /api/statistics", "/api/statistics", "", as_admin, "read")
    scenario("PUT /api/events/{id}/participants/me", "/api/events/0/participants/me",
             LUA_PARTICIPATION, dict(as_user, BENCH_EVENTS=",".join(map(str, upcoming))), "write")
    login_env = dict(as_user, BENCH_EMAIL="user@bench.local", BENCH_PASSWORD=PASSWORD)
    if ONLY and not any(w in "POST /api/login (Argon2id)" for w in ONLY):
        return results
    # Logins saturated, and GET /api/login measured at the same time.
    side = {}
    t = threading.Thread(target=lambda: side.update(wrk_all(bases, "/api/login", "", as_user)))
    t.start()
    scenario("POST /api/login (Argon2id)", "/api/login", LUA_LOGIN, login_env, "argon2")
    t.join()
    side.update(name="GET /api/login while logins saturate", kind="read-under-login")
    results.append(side)
    print(f"  {side['name']:<44} {side['rps']:>9.0f} req/s  p99 {ms(side['p99'])} ms")
    return results


def run_backend(backend, instances, upcoming):
    """Starts one server per (data dir, database URL) in `instances`, runs
    every scenario against all of them, stops them; (results, start-up ms
    of the first, peak RSS of the largest)."""
    label = BACKEND_NAMES[backend]
    engine = "sqlite" if backend == "sqlite" else "postgres"
    servers, bases, startup_ms = [], [], None
    try:
        for data_dir, database in instances:
            server, base, ms_ = start_server(data_dir, engine, database)
            servers.append(server)
            bases.append(base)
            startup_ms = ms_ if startup_ms is None else startup_ms
        # Sessions live in the database: one login serves every instance.
        admin = login(bases[0], "admin@bench.local")
        user = login(bases[-1], "user@bench.local")
        as_user = {"BENCH_UID": user[0], "BENCH_TOKEN": user[1]}
        as_admin = {"BENCH_UID": admin[0], "BENCH_TOKEN": admin[1]}
        print(f"{label}: {len(servers)} instance(s) up, the first in {startup_ms:.0f} ms;"
              f" {SECONDS}s per scenario, c={CONNECTIONS} in all")
        results = scenarios(bases, servers, as_user, as_admin, upcoming)
        rss_mib = max(peak_rss_kib(p.pid) for p in servers) / 1024
    finally:
        for server in servers:
            stop_server(server)
    return results, startup_ms, rss_mib


def backends_wanted():
    """The backends to run (BENCH_BACKENDS) and PostgreSQL's bin dir."""
    bindir = pg_bindir()
    asked = os.environ.get("BENCH_BACKENDS")
    if asked:
        wanted = [b.strip() for b in asked.split(",") if b.strip()]
        unknown = [b for b in wanted if b not in BACKEND_NAMES]
        if unknown:
            sys.exit(f"BENCH_BACKENDS: unknown {unknown}; known: {', '.join(BACKEND_NAMES)}")
        if any(b != "sqlite" for b in wanted) and not bindir:
            sys.exit("PostgreSQL server binaries not found (apt-get install postgresql, or set PG_BINDIR)")
        return wanted, bindir
    if not bindir:
        print("PostgreSQL server binaries not found: SQLite only (apt-get install postgresql for the rest)")
        return ["sqlite"], None
    return list(BACKEND_NAMES), bindir


def side_by_side(runs):
    """The scenarios as rows, req/s and p99 of each backend as columns."""
    names = [r["name"] for r in runs[0][1]]
    head = "| scenario | " + " | ".join(f"{BACKEND_NAMES[b]} req/s | p99 ms" for b, _ in runs) + " |"
    lines = [head, "|---|" + "---:|---:|" * len(runs)]
    for name in names:
        cells = []
        for _, results in runs:
            r = next((x for x in results if x["name"] == name), None)
            if r is None:
                cells.append("— | —")
            else:
                errors = f" ({r['errors']} errors)" if r["errors"] else ""
                cells.append(f"{r['rps']:.0f}{errors} | {ms(r['p99'])}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")
    wanted, bindir = backends_wanted()
    scratch = tempfile.mkdtemp(prefix="afisha-bench-")
    data_dir = os.path.join(scratch, "sqlite")
    os.makedirs(data_dir, mode=0o700)
    t0 = time.time()
    upcoming = seed(data_dir)
    seed_secs = time.time() - t0
    print(f"seeded in {seed_secs:.1f}s")
    runs, facts_by = [], {}
    cluster, pg_version = None, None
    try:
        pg_urls = {}
        if any(b != "sqlite" for b in wanted):
            # Taken from the SQLite seed before any run changes it.
            seed_sql = os.path.join(scratch, "seed.sql")
            pg_seed_sql(os.path.join(data_dir, "afisha.db"), seed_sql)
            # Its own temp dir: as root the cluster runs as `postgres`, which
            # cannot enter the (private) scratch dir.
            cluster = tempfile.mkdtemp(prefix="afisha-bench-pg-")
            started = subprocess.run([os.path.join(ROOT, "scripts", "pg-cluster.sh"), "start", cluster, *PG_OPTIONS],
                                     check=True, stdout=subprocess.PIPE, text=True,
                                     env=dict(os.environ, PG_BINDIR=bindir))
            cluster_url = started.stdout.strip()
            pg_version = run([os.path.join(bindir, "postgres"), "--version"]).stdout.split()[2]
            t0 = time.time()
            for b in wanted:
                if b != "sqlite":
                    name = "bench_" + b.replace("-", "_")
                    pg_urls[b] = pg_database(bindir, cluster_url, name, seed_sql, os.path.join(scratch, "migrate"))
            print(f"PostgreSQL {pg_version}: seeded {len(pg_urls)} database(s) in {time.time() - t0:.1f}s")
        # Every instance has the key of the seeded data dir (sessions and
        # sealed secrets are checked with it) and a data dir of its own.
        key = os.path.join(data_dir, "secret.key")
        for b in wanted:
            if b == "sqlite":
                instances = [(data_dir, None)]
            else:
                instances = []
                for i in range(2 if b == "postgres-x2" else 1):
                    d = os.path.join(scratch, f"{b}-{i}")
                    os.makedirs(d, mode=0o700)
                    if os.path.exists(key):
                        shutil.copy2(key, os.path.join(d, "secret.key"))
                    instances.append((d, pg_urls[b]))
            results, startup_ms, rss_mib = run_backend(b, instances, upcoming)
            runs.append((b, results))
            facts_by[b] = (startup_ms, rss_mib)
    finally:
        if cluster:
            subprocess.run([os.path.join(ROOT, "scripts", "pg-cluster.sh"), "stop", cluster],
                           env=dict(os.environ, PG_BINDIR=bindir or ""))
        shutil.rmtree(scratch, ignore_errors=True)

    first, results = runs[0]
    startup_ms, rss_mib = facts_by[first]
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
        - backend of the table above: **{BACKEND_NAMES[first]}**
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
    both = ""
    if len(runs) > 1:
        extra = "\n".join(
            f"- {BACKEND_NAMES[b]}: start-up {facts_by[b][0]:.0f} ms, peak RSS {facts_by[b][1]:.1f} MiB"
            + (" (the larger instance)" if b == "postgres-x2" else "")
            for b, _ in runs)
        both = textwrap.dedent(f"""\

            ## Backends side by side (the same run)

            The same scenarios and data on each backend, one after the other.
            PostgreSQL {pg_version or ""} is a throwaway local cluster on the same
            machine (`scripts/pg-cluster.sh`; `synchronous_commit = off`, as
            SQLite's `synchronous = NORMAL` does not sync each commit either;
            otherwise defaults), so it shares the cores with Afisha and `wrk`.
            "×2" is two instances on one database, each driven by its own `wrk`
            with half the connections; req/s are added, p99 is the worse of the two.

        """) + side_by_side(runs) + "\n\n" + extra + "\n"
        print(both)
    if ONLY:
        return
    with open(os.path.join(ROOT, "BENCHMARKS.md"), "w") as f:
        f.write("# Benchmarks\n\nReproduce with `make bench` (builds the release binary, installs `wrk` "
                "from apt if missing, seeds a fresh data dir, runs each scenario against `afisha serve` "
                "on loopback). Figures below are from the last run on the machine described.\n\n")
        f.write(table + "\n\n" + facts + both)
        notes = os.path.join(ROOT, "docs", "benchmark-notes.md")
        if os.path.exists(notes):
            with open(notes) as n:
                f.write(n.read())


if __name__ == "__main__":
    main()
