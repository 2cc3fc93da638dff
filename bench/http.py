"""HTTP benchmark: the parallel-approval workload end to end through gunicorn (one sync worker, 1 thread).

For SQLite and PostgreSQL: migrate and seed a fresh database in-process, start gunicorn as a subprocess
on 127.0.0.1:<free port>, then drive it from this process with http.client. Every actor gets one API
token (POST /api/v1/auth/tokens) that is reused for the whole run; the HTML session login
(GET + POST /login with its CSRF token) is measured once per actor. Per case (the issue's workload
"login, start, list, complete × 6", login being the reused token): start (POST /api/v1/cases), one list
as the clerk (GET /api/v1/tasks?view=claimable, which must show the intake task named by the start
response), then the 6 completions (POST /api/v1/tasks/{id}/complete), each by the actor its task's
candidates name, with the task ids taken from the previous responses (`open_tasks` of the start,
`next_tasks` of each completion) — 8 requests per case.
gunicorn's sync worker answers `Connection: close`, so every request opens a new loopback TCP connection
(http.client reconnects transparently). The second part (to-do lists at volume) lives in bench/todo_volume.py.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.services.processes import deploy_process
from bench.common import PG_URL, machine_line, median, percentile, pg_available, psycopg_url
from bench.engine import DEPARTMENTS, NOW, _people, _source
from config import DevelopmentConfig

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PASSWORD = "bench-password"
WARMUP = 5
STEP_DATA: dict[str, dict[str, str]] = {
    "intake": {"decision": "accept"},
    "review": {"review_decision": "accept"},
    "decide": {"decision": "accept", "opinion": "同意"},
}
_SERVERS: dict[int, int] = {}  # port -> gunicorn master pid (its child is the worker)
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def seed(url: str, upload_dir: str) -> None:
    """Migrate, create the bench users and deploy mini_parallel on the database at `url`."""

    class Config(DevelopmentConfig):
        SQLALCHEMY_DATABASE_URI = url
        GOVFLOW_UPLOAD_DIR = upload_dir

    app = create_app(Config)
    with app.app_context():
        upgrade()
        session = db.session()
        deploy_process(session, _source(), None, NOW)
        session.commit()
        _people()
        db.session.remove()
        db.engine.dispose()


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc; 0 for a vanished one)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _pg_backends(url: str) -> list[int]:
    """The server processes of the other client connections to the bench database (the worker's pool)."""
    import psycopg

    with psycopg.connect(psycopg_url(url)) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(row[0]) for row in rows]


@contextmanager
def gunicorn(url: str, tmp: str) -> Iterator[int]:
    """A gunicorn with one sync worker (1 thread) serving wsgi:app on a free loopback port."""
    port = _free_port()
    env = os.environ | {
        "DATABASE_URL": url,
        "GOVFLOW_ENV": "development",
        "GOVFLOW_UPLOAD_DIR": str(Path(tmp) / "uploads"),
    }
    args = ["-m", "gunicorn", "--workers", "1", "--threads", "1", "--worker-class", "sync"]
    args += ["--bind", f"{HOST}:{port}", "--log-level", "warning", "wsgi:app"]
    log = (Path(tmp) / "gunicorn.log").open("w")
    proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        _wait_ready(port, proc)
        _SERVERS[port] = proc.pid
        yield port
    finally:
        _SERVERS.pop(port, None)
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("gunicorn exited during start-up (see its log)")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/login")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


class Client:
    """A keep-alive-capable loopback client recording each request's latency by kind."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.timings: dict[str, list[float]] = defaultdict(list)

    def call(
        self, kind: str, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """Send one request; return status, headers (lower-case names) and body."""
        t0 = time.perf_counter()
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        self.timings[kind].append(time.perf_counter() - t0)
        if response.will_close:
            self.conn.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def api(self, kind: str, method: str, path: str, token: str, payload: Any = None) -> Any:
        """A JSON API call with a bearer token; raises on an unexpected status."""
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        body = None
        if payload is not None:
            body, headers["Content-Type"] = json.dumps(payload).encode(), "application/json"
        status, _, data = self.call(kind, method, path, body, headers)
        if status not in (200, 201):
            raise RuntimeError(f"{method} {path}: HTTP {status} {data[:300]!r}")
        return json.loads(data)

    def token(self, username: str) -> str:
        """POST /api/v1/auth/tokens."""
        body = json.dumps({"username": username, "password": PASSWORD}).encode()
        status, _, data = self.call(
            "login (API token)", "POST", "/api/v1/auth/tokens", body, {"Content-Type": "application/json"}
        )
        if status != 201:
            raise RuntimeError(f"token for {username}: HTTP {status}")
        return str(json.loads(data)["token"])

    def html_login(self, username: str) -> None:
        """GET /login for the CSRF token and cookie, then the timed POST /login (expects 302)."""
        status, headers, page = self.call("GET /login (form)", "GET", "/login", None, {})
        match = CSRF_RE.search(page.decode())
        cookie = headers.get("set-cookie", "").split(";")[0]
        if status != 200 or not match or not cookie:
            raise RuntimeError("login form without CSRF token or session cookie")
        form = urllib.parse.urlencode(
            {"csrf_token": match.group(1), "username": username, "password": PASSWORD}
        )
        head = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
        status, _, _ = self.call("login (HTML form POST)", "POST", "/login", form.encode(), head)
        if status != 302:
            raise RuntimeError(f"HTML login for {username}: HTTP {status}")


def _actor(task: dict[str, Any]) -> str:
    """The bench actor who may complete `task` (by its candidate role and department)."""
    role = task["candidate_role"]
    return str(task["candidate_department"]) if role == "approver" else str(role)


def _run_case(client: Client, tokens: dict[str, str]) -> None:
    case = client.api("start case", "POST", "/api/v1/cases", tokens["clerk"], _start_payload())
    number, pending = case["number"], list(case["open_tasks"])
    listing = client.api("list claimable", "GET", "/api/v1/tasks?view=claimable", tokens["clerk"])
    listed = {r["task_id"] for r in listing["items"] if r["case_number"] == number}
    if listed != {t["id"] for t in pending}:
        raise RuntimeError(f"case {number}: the clerk lists {listed}, the start named {pending}")
    status, completed = "", 0
    while pending:
        task = pending.pop(0)
        path = f"/api/v1/tasks/{task['id']}/complete"
        done = client.api(
            "complete task", "POST", path, tokens[_actor(task)], {"data": STEP_DATA[task["bpmn_id"]]}
        )
        status, completed = done["case_status"], completed + 1
        pending += done["next_tasks"]
    if status != "completed" or completed != 2 + len(DEPARTMENTS):
        raise RuntimeError(f"case {number} ended {status!r} after {completed} completions")


def _start_payload() -> dict[str, Any]:
    return {"process_id": "mini_parallel", "data": {"departments": DEPARTMENTS}}


def drive(port: int, cases: int, url: str | None = None) -> dict[str, Any]:
    """Log every actor in, run `cases` cases (after WARMUP unmeasured ones) and return the figures.

    Besides the wall clock, the CPU each side spent per case: the gunicorn worker, the PostgreSQL
    backends serving it (`url` given) and this client. Wall minus their sum is time nobody computed:
    round trips waiting to be scheduled — what varies most between runs on a shared 2-core VM.
    """
    client = Client(port)
    actors = ["clerk", "leader", *DEPARTMENTS]
    for actor in actors:
        client.html_login(f"bench_{actor}")
    tokens = {actor: client.token(f"bench_{actor}") for actor in actors}
    for _ in range(WARMUP):
        _run_case(client, tokens)
    for kind in ("start case", "list claimable", "complete task"):
        client.timings[kind].clear()
    workers = _children(_SERVERS[port]) if port in _SERVERS else []
    backends = _pg_backends(url) if url and url.startswith("postgresql") else []
    cpu_before = (_cpu_seconds(workers), _cpu_seconds(backends), time.process_time())
    started = time.perf_counter()
    for _ in range(cases):
        _run_case(client, tokens)
    elapsed = time.perf_counter() - started
    cpu_after = (_cpu_seconds(workers), _cpu_seconds(backends), time.process_time())
    requests = sum(
        len(v) for k, v in client.timings.items() if k in ("start case", "list claimable", "complete task")
    )
    cpu_ms = [(after - before) / cases * 1000 for before, after in zip(cpu_before, cpu_after, strict=True)]
    return {
        "cases_per_s": cases / elapsed,
        "requests_per_s": requests / elapsed,
        "ms_per_case": elapsed / cases * 1000,
        "cpu_ms_per_case": {"worker": cpu_ms[0], "database": cpu_ms[1], "client": cpu_ms[2]},
        "timings": client.timings,
    }


def run_backend(backend: str, cases: int) -> dict[str, Any]:
    """Seed a fresh database of `backend`, serve it with gunicorn and drive the workload."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'http.db'}" if backend == "sqlite" else PG_URL
        seed(url, str(Path(tmp) / "uploads"))
        with gunicorn(url, tmp) as port:
            return drive(port, cases, url)


def _print(results: dict[str, dict[str, Any]], cases: int) -> None:
    print(f"\nHTTP benchmark — gunicorn, 1 sync worker × 1 thread, {cases} cases (+{WARMUP} warm-up)")
    print(machine_line())
    print("per case: start + 1 list claimable + 6 complete (ids from the responses); tokens reused\n")
    print("| backend | cases/s | requests/s |")
    print("|---|---|---|")
    for backend, figures in results.items():
        print(f"| {backend} | {figures['cases_per_s']:.1f} | {figures['requests_per_s']:.1f} |")
    print("\n| backend | wall ms per case | CPU ms per case: gunicorn worker | PostgreSQL | client | idle |")
    print("|---|---|---|---|---|---|")
    for backend, figures in results.items():
        cpu, wall = figures["cpu_ms_per_case"], figures["ms_per_case"]
        idle = wall - sum(cpu.values())
        row = f"| {backend} | {wall:.1f} | {cpu['worker']:.1f} | {cpu['database']:.1f} | {cpu['client']:.1f}"
        print(f"{row} | {idle:.1f} |")
    print("\n| backend | request | n | p50 ms | p95 ms |")
    print("|---|---|---|---|---|")
    for backend, figures in results.items():
        for kind, values in figures["timings"].items():
            p50, p95 = median(values) * 1000, percentile(values, 95) * 1000
            print(f"| {backend} | {kind} | {len(values)} | {p50:.2f} | {p95:.2f} |")


def main(argv: list[str]) -> None:
    """Run the HTTP benchmark on SQLite and (if reachable) PostgreSQL, then the to-do volume one."""
    cases = int(argv[0]) if argv else 200
    results = {"SQLite": run_backend("sqlite", cases)}
    if pg_available():
        results["PostgreSQL"] = run_backend("postgresql", cases)
    else:
        print("PostgreSQL not reachable: PostgreSQL rows skipped")
    _print(results, cases)
    Path(ROOT / "bench/.last-http.json").write_text(
        json.dumps({b: {k: v for k, v in f.items() if k != "timings"} for b, f in results.items()}, indent=1)
    )


if __name__ == "__main__":
    main(sys.argv[1:])
