#!/usr/bin/env python3
"""Crash safety: kill -9 under write load, restart, lose nothing.

Runs the real binary against a real SMTP listener (this script's own, on
loopback). For CYCLES rounds it drives a write load — registrations with
verification, participation toggles, event renames — for a random time,
then SIGKILLs the server and starts it again on the same data dir. At the
end it checks:

  1. every write that got a 2xx is present (users can log in, the last
     acknowledged participation state and event name are what the API shows);
  2. PRAGMA integrity_check is "ok";
  3. every email job in the database was delivered, exactly once, judged by
     the Message-ID the mailer derives from the job id (<afisha.job.ID.HASH@…>). A duplicate is only
     allowed where SMTP accepted a message and the process died before the
     job was marked done; duplicates are counted and reported.

Exits non-zero on any loss or corruption. CYCLES (default 5) and
LOAD_SECONDS (default 2.0, max per cycle) set the size; CI uses a reduced run.
"""

import asyncio
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("AFISHA_BIN", os.path.join(ROOT, "target", "debug", "afisha"))
CYCLES = int(os.environ.get("CYCLES", "5"))
LOAD_SECONDS = float(os.environ.get("LOAD_SECONDS", "2.0"))
PASSWORD = "crash-test-password"


# ----------------------------------------------------------------- SMTP sink

class Sink:
    """A minimal SMTP server that records the Message-ID of every message."""

    def __init__(self):
        self.ids = []
        self.lock = threading.Lock()
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port))
        self.loop.run_forever()

    async def _client(self, reader, writer):
        try:
            await self._session(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass  # the server was killed mid-conversation: expected here

    async def _session(self, reader, writer):
        def send(line):
            writer.write((line + "\r\n").encode())
        send("220 sink ESMTP")
        await writer.drain()
        while True:
            line = await reader.readline()
            if not line:
                break
            cmd = line.decode(errors="replace").strip().upper()
            if cmd.startswith("EHLO"):
                writer.write(b"250-sink\r\n250 8BITMIME\r\n")
            elif cmd.startswith("HELO") or cmd.startswith("MAIL") or cmd.startswith("RCPT") or cmd.startswith("RSET") or cmd.startswith("NOOP"):
                send("250 ok")
            elif cmd == "DATA":
                send("354 go ahead")
                await writer.drain()
                message_id = None
                while True:
                    data = await reader.readline()
                    if not data or data in (b".\r\n", b".\n"):
                        break
                    if data.lower().startswith(b"message-id:"):
                        message_id = data.split(b":", 1)[1].strip().decode()
                with self.lock:
                    self.ids.append(message_id)
                send("250 queued")
            elif cmd == "QUIT":
                send("221 bye")
                await writer.drain()
                break
            else:
                send("250 ok")
            await writer.drain()
        writer.close()


# ----------------------------------------------------------------- helpers

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(base, method, path, body=None, auth=None, timeout=5):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"}
    if auth:
        headers.update({"X-Login-Session-Uid": auth[0], "X-Login-Session-Token": auth[1]})
    req = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None, None  # the server died under us: not acknowledged


class Server:
    def __init__(self, data_dir, smtp_port):
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ,
                        AFISHA_LOG="warn",
                        AFISHA_EMAIL__BACKEND="smtp",
                        AFISHA_EMAIL__SMTP__HOST="127.0.0.1",
                        AFISHA_EMAIL__SMTP__PORT=str(smtp_port),
                        AFISHA_EMAIL__SMTP__TLS="none",
                        AFISHA_JOBS__LOCK_SECS="2",
                        AFISHA_AUTH__ARGON2__MEMORY_KIB="1024",
                        AFISHA_AUTH__ARGON2__ITERATIONS="1")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([BIN, "serve", "--debug", "--data-dir", self.data_dir,
                                      "--bind", f"127.0.0.1:{self.port}"],
                                     env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            if call(self.base, "GET", "/api/health", timeout=1)[0] == 200:
                return
            time.sleep(0.01)
        raise SystemExit("server did not start")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


def login(base, email):
    status, body = call(base, "POST", "/api/login", {"email": email, "password": PASSWORD})
    assert status == 201, (status, body)
    return body["login_session_uid"], body["login_session_token"]


# ----------------------------------------------------------------- the run

def main():
    if not os.path.exists(BIN):
        sys.exit(f"no binary at {BIN}: cargo build first")
    sink = Sink()
    data_dir = tempfile.mkdtemp(prefix="afisha-crash-")
    env = dict(os.environ, AFISHA_AUTH__ARGON2__MEMORY_KIB="1024", AFISHA_AUTH__ARGON2__ITERATIONS="1")
    subprocess.run([BIN, "user", "create", "--data-dir", data_dir, "--email", "admin@crash.test",
                    "--name", "Admin", "--admin", "--password-stdin"], input=PASSWORD + "\n",
                   text=True, check=True, env=env, capture_output=True)
    server = Server(data_dir, sink.port)
    server.start()
    admin = login(server.base, "admin@crash.test")
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3 * 86400))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3 * 86400 + 7200))
    events = []
    for i in range(5):
        status, ev = call(server.base, "POST", "/api/events",
                          {"name": f"Crash event {i}", "description": "d", "starts_at": start,
                           "ends_at": end, "image_url": "https://img.test/x.png"}, admin)
        assert status == 201, ev
        events.append(ev["id"])

    acked_users = []          # emails whose verification got 201
    acked_state = {}          # (email, event) -> last acknowledged status
    acked_names = {}          # event -> last acknowledged name
    # A request whose answer was lost to the kill may or may not have
    # committed: its outcome is allowed too.
    maybe_state = {}
    maybe_names = {}
    sessions = {}
    rng = random.Random(7)
    counter = 0
    kills = 0

    for cycle in range(CYCLES):
        stop_at = time.time() + rng.uniform(0.3, LOAD_SECONDS)
        while time.time() < stop_at:
            counter += 1
            action = rng.random()
            if action < 0.3 or not acked_users:
                email = f"u{counter}@crash.test"
                s, reg = call(server.base, "POST", "/api/register",
                              {"email": email, "password": PASSWORD, "full_name": f"User {counter}"})
                if s != 201:
                    continue
                s, code = call(server.base, "GET", "/api/debug/intercept-verification-code")
                if s != 200:
                    continue
                s, _ = call(server.base, "POST", "/api/register/verification",
                            {"token": reg["token"], "code": code["code"]})
                if s == 201:
                    acked_users.append(email)
            elif action < 0.8:
                email = rng.choice(acked_users)
                if email not in sessions:
                    s, body = call(server.base, "POST", "/api/login", {"email": email, "password": PASSWORD})
                    if s != 201:
                        continue
                    sessions[email] = (body["login_session_uid"], body["login_session_token"])
                ev = rng.choice(events)
                status = rng.choice(["PARTICIPATING", "NONE", "REJECTED"])
                s, _ = call(server.base, "PUT", f"/api/events/{ev}/participants/me", {"status": status}, sessions[email])
                if s == 204:
                    acked_state[(email, ev)] = status
                    maybe_state.pop((email, ev), None)
                elif s is None:
                    maybe_state[(email, ev)] = status
            else:
                ev = rng.choice(events)
                name = f"Crash event {ev} v{counter}"
                s, _ = call(server.base, "PUT", f"/api/events/{ev}", {"name": name}, admin)
                if s == 200:
                    acked_names[ev] = name
                    maybe_names.pop(ev, None)
                elif s is None:
                    maybe_names[ev] = name
        server.kill9()
        kills += 1
        server.start()

    # Let the queue drain after the last restart.
    server_db = os.path.join(data_dir, "afisha.db")
    deadline = time.time() + 120
    while time.time() < deadline:
        db = sqlite3.connect(server_db)
        pending = db.execute("SELECT count(*) FROM job WHERE kind = 'email' AND done_at IS NULL AND failed_at IS NULL").fetchone()[0]
        db.close()
        if pending == 0:
            break
        time.sleep(0.2)

    failures = []
    # 1. acknowledged writes are present
    admin = login(server.base, "admin@crash.test")
    for email in acked_users:
        s, _ = call(server.base, "POST", "/api/login", {"email": email, "password": PASSWORD})
        if s != 201:
            failures.append(f"acknowledged user {email} cannot log in ({s})")
    for ev, name in acked_names.items():
        s, body = call(server.base, "GET", f"/api/events/{ev}", auth=admin)
        if s != 200 or body["name"] not in (name, maybe_names.get(ev)):
            failures.append(f"event {ev}: expected name {name!r}, got {body and body.get('name')!r}")
    for (email, ev), status in acked_state.items():
        s, body = call(server.base, "GET", f"/api/events/{ev}", auth=admin)
        db = sqlite3.connect(server_db)
        row = db.execute("SELECT p.status FROM event_participant p JOIN user u ON u.id = p.user_id"
                         " WHERE p.event_id = ? AND u.email = ?", (ev, email)).fetchone()
        db.close()
        actual = row[0] if row else "NONE"
        if actual not in (status, maybe_state.get((email, ev))):
            failures.append(f"{email} on event {ev}: acknowledged {status}, stored {actual}")
    server.stop()

    # 2. integrity
    db = sqlite3.connect(server_db)
    verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        failures.append(f"integrity_check: {verdict}")
    # 3. every email job delivered exactly once
    jobs = db.execute("SELECT id, done_at IS NOT NULL, failed_at IS NOT NULL FROM job WHERE kind = 'email'").fetchall()
    db.close()
    received = {}
    with sink.lock:
        for mid in sink.ids:
            received[mid] = received.get(mid, 0) + 1
    undelivered = []
    duplicates = 0
    for job_id, done, failed in jobs:
        hits = sum(n for mid, n in received.items() if mid and f"afisha.job.{job_id}." in mid)
        if hits == 0 or not done:
            undelivered.append(job_id)
        duplicates += max(0, hits - 1)
    if undelivered:
        failures.append(f"{len(undelivered)} email jobs never delivered: {undelivered[:10]}")

    print(f"cycles: {CYCLES}, kill -9: {kills}, requests: {counter}")
    print(f"acknowledged: {len(acked_users)} users, {len(acked_state)} participation states, {len(acked_names)} renames")
    print(f"email jobs: {len(jobs)}, messages received: {sum(received.values())}, duplicates: {duplicates}")
    print(f"integrity_check: {verdict}")
    if failures:
        print("FAILED:")
        for f in failures:
            print("  " + f)
        sys.exit(1)
    print("crash test: nothing lost")


if __name__ == "__main__":
    main()
