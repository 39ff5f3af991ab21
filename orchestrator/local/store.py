"""The local store: one SQLite database (WAL) under ``.orchestrator/`` in the working directory.

Everything the embedded default does is written here as it happens — executions, their history
events (committed per event, so a killed runner loses nothing that had completed), Batch jobs,
Lambda invocations, SNS messages and their deliveries, and each completed task's result (what
``redrive`` replays). ``ORCHESTRATOR_HOME`` moves it.

WAL with ``synchronous=NORMAL`` survives the runner being killed (SIGKILL): a commit is in the
WAL file in the OS page cache once ``commit`` returns. A power cut could lose the last ones, so a
completed task's result (what redrive relies on) is made durable too: ``put_result`` commits it
and has the WAL file fsynced on the store's sync thread, and ``sync_results`` waits for that.
The local runner calls it before it starts any task (and when a run closes), so no task starts
before every result completed ahead of it is on disk — the guarantee a ``synchronous=FULL``
commit gave, with the fsync (0.3-5 ms, and ~0.7 ms of kernel CPU, per task on this machine)
overlapping the engine's bookkeeping instead of adding to it. A power cut in between loses
the result together with every event after it (the WAL is a log): redrive runs that task again,
as it would after a cut just before the task returned.

    >>> import tempfile
    >>> store = Store(tempfile.mkdtemp())
    >>> store.executions()
    []
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import OrchestratorError

HOME_ENV = "ORCHESTRATOR_HOME"
DEFAULT_HOME = ".orchestrator"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state_machine_arn TEXT NOT NULL,
    workflow TEXT NOT NULL,
    parent_arn TEXT,
    scope TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT,
    output TEXT,
    error TEXT,
    cause TEXT,
    start_date TEXT NOT NULL,
    stop_date TEXT,
    redrive_count INTEGER NOT NULL DEFAULT 0,
    runner_pid INTEGER,
    runner_start TEXT,
    cwd TEXT,
    plan TEXT
);
CREATE INDEX IF NOT EXISTS executions_start ON executions (start_date);
CREATE INDEX IF NOT EXISTS executions_workflow ON executions (workflow, start_date);
CREATE TABLE IF NOT EXISTS events (
    execution_arn TEXT NOT NULL,
    id INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (execution_arn, id)
);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    execution_arn TEXT,
    state_name TEXT,
    job_name TEXT NOT NULL,
    queue TEXT NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    log_paths TEXT NOT NULL DEFAULT '[]',
    description TEXT
);
CREATE TABLE IF NOT EXISTS invocations (
    request_id TEXT PRIMARY KEY,
    execution_arn TEXT,
    state_name TEXT,
    function_name TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    duration_ms REAL,
    error TEXT,
    log_path TEXT
);
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    execution_arn TEXT,
    state_name TEXT,
    topic_arn TEXT NOT NULL,
    subject TEXT,
    message TEXT NOT NULL,
    attributes TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    message_id TEXT NOT NULL,
    target TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS task_results (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    state_name TEXT NOT NULL,
    output TEXT NOT NULL,
    redrive_count INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE TABLE IF NOT EXISTS compiled_plans (
    key TEXT PRIMARY KEY,
    plan TEXT NOT NULL,
    registered TEXT
);
CREATE TABLE IF NOT EXISTS valid_documents (
    digest TEXT PRIMARY KEY
);
"""

# Compiled plans kept for ``orchestrator run`` (see ``runs.cached_plan``): the newest this many.
COMPILED_PLANS_KEPT = 16
# Digests of the spec documents ``orchestrator run`` found valid (see ``kept.ValidDocuments``).
VALID_DOCUMENTS_KEPT = 64

# -- serve: the state-machine registry of the Step Functions API (orchestrator/server) --------
# State machines (created through the API, served project workflows, and those ``orchestrator
# run`` registers), their published versions, aliases, and resource tags. Kept in one block so
# the other components' migrations sit beside it, not inside it.
_SCHEMA_STATE_MACHINES = """
CREATE TABLE IF NOT EXISTS state_machines (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    description TEXT,
    logging TEXT,
    tracing TEXT,
    creation_date TEXT NOT NULL,
    update_date TEXT,
    revision_id TEXT NOT NULL,
    workflow TEXT,
    plan TEXT
);
CREATE TABLE IF NOT EXISTS state_machine_versions (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    version INTEGER NOT NULL,
    definition TEXT NOT NULL,
    role_arn TEXT NOT NULL,
    description TEXT,
    revision_id TEXT NOT NULL,
    creation_date TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS state_machine_aliases (
    arn TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    routing TEXT NOT NULL,
    creation_date TEXT NOT NULL,
    update_date TEXT
);
CREATE TABLE IF NOT EXISTS resource_tags (
    resource_arn TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (resource_arn, key)
);
CREATE INDEX IF NOT EXISTS executions_machine ON executions (state_machine_arn, start_date);
"""
# -- end serve ---------------------------------------------------------------------------------

# -- scheduler tables (orchestrator.scheduler) begin ----------------------------------------------
# schedules: one row per served schedule. ``last_fire`` is the scheduled time of the last fire
# handled (started, skipped or given up), so a restart neither misses nor doubles one; ``anchor``
# is where counting starts (first seen, edited, re-enabled or resumed: a gap is never backfilled
# by itself) and a rate's first fire; ``generation`` changes with it, so a running scheduler sees
# a reset made by another process. schedule_fires: one row per fire ever claimed, its primary key
# the reason two schedulers on one store start a fire at most once.
_SCHEDULER_SCHEMA = """
CREATE TABLE IF NOT EXISTS schedules (
    workflow TEXT PRIMARY KEY,
    state_machine_arn TEXT NOT NULL,
    expression TEXT NOT NULL,
    timezone TEXT NOT NULL,
    schedule TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    paused INTEGER NOT NULL DEFAULT 0,
    anchor TEXT NOT NULL,
    generation INTEGER NOT NULL DEFAULT 0,
    last_fire TEXT,
    updated TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS schedule_fires (
    workflow TEXT NOT NULL,
    scheduled_time TEXT NOT NULL,
    execution_name TEXT NOT NULL,
    status TEXT NOT NULL,
    owner_pid INTEGER,
    owner_start TEXT,
    execution_arn TEXT,
    detail TEXT,
    updated TEXT NOT NULL,
    PRIMARY KEY (workflow, scheduled_time)
);
CREATE INDEX IF NOT EXISTS schedule_fires_status ON schedule_fires (status);
"""
_SCHEDULE_COLS = ("workflow", "state_machine_arn", "expression", "timezone", "schedule", "enabled", "paused",
                  "anchor", "generation", "last_fire", "updated")
_FIRE_COLS = ("workflow", "scheduled_time", "execution_name", "status", "owner_pid", "owner_start",
              "execution_arn", "detail", "updated")
# -- scheduler tables end ------------------------------------------------------------------------


class StoreError(OrchestratorError):
    """The store cannot be opened (an unwritable directory, a file that is not SQLite)."""


class ExecutionNotFound(OrchestratorError):
    """No stored execution matches what the user typed."""


def home_dir(home: str | os.PathLike[str] | None = None) -> Path:
    """Where the store lives: ``home``, else ``$ORCHESTRATOR_HOME``, else ``./.orchestrator``."""
    if home is not None:
        return Path(home)
    return Path(os.environ.get(HOME_ENV) or DEFAULT_HOME)


def store_file(home: str | os.PathLike[str] | None = None) -> Path:
    """The store's database file (``Store(home).path``), without opening or creating it."""
    return home_dir(home).resolve() / "store.sqlite3"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExecutionRow:
    arn: str
    name: str
    state_machine_arn: str
    workflow: str
    parent_arn: str | None
    scope: str
    status: str
    input: Any
    output: Any
    error: str | None
    cause: str | None
    start_date: str
    stop_date: str | None
    redrive_count: int
    runner_pid: int | None
    runner_start: str | None
    cwd: str | None
    plan: Any

    def list_entry(self) -> dict[str, Any]:
        """The ListExecutions shape (ISO dates)."""
        entry: dict[str, Any] = {
            "executionArn": self.arn, "stateMachineArn": self.state_machine_arn, "name": self.name,
            "status": self.status, "startDate": self.start_date}
        if self.stop_date is not None:
            entry["stopDate"] = self.stop_date
        if self.redrive_count:
            entry["redriveCount"] = self.redrive_count
        return entry


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _cached_object(text: object) -> dict[str, Any] | None:
    """The JSON object ``text`` holds, or None when it holds anything else (what a cache can afford)."""
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _sync_data(fd: int) -> None:
    """fdatasync where there is one: it writes the WAL's data and what reading it back needs (its
    size), not its timestamps, as SQLite's own syncs do; ~40 µs less kernel CPU per result here."""
    sync = getattr(os, "fdatasync", None) or os.fsync
    sync(fd)


class _WalSync:
    """fsyncs a store's WAL file on a thread of its own when asked; ``wait`` blocks until what was
    asked before it is done. One fsync covers every commit made before it starts, so results
    committed while one runs share the next. The thread ends after a second with nothing to do
    (and with it its file descriptor), so a store that is dropped without ``close`` leaks neither.
    """

    IDLE_SECONDS = 1.0

    def __init__(self, wal: Path) -> None:
        self._wal = wal
        self._cond = threading.Condition()
        self._asked = 0  # fsyncs asked for, each after a commit
        self._done = 0  # of those, covered by a finished fsync
        self._running = False

    def ask(self) -> None:
        with self._cond:
            self._asked += 1
            self._cond.notify_all()
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._run, name="store-wal-sync", daemon=True).start()

    def wait(self) -> None:
        with self._cond:
            target = self._asked
            while self._done < target:
                self._cond.wait()

    def _run(self) -> None:
        fd: int | None = None
        try:
            while True:
                with self._cond:
                    if self._done == self._asked:
                        self._cond.wait(self.IDLE_SECONDS)
                    if self._done == self._asked:
                        self._running = False
                        return
                    target = self._asked
                try:
                    # The WAL exists once something was committed, and keeps its inode while the
                    # store's connection is open (a checkpoint may truncate it, never replace it).
                    # Opened for writing only because Windows' fsync needs that; nothing is written.
                    if fd is None:
                        fd = os.open(self._wal, os.O_RDWR)
                    _sync_data(fd)  # every commit counted in ``target`` returned before this started
                except OSError:
                    # No WAL to sync by itself (a file system where SQLite could not use one):
                    # flush every file, where the platform can.
                    if hasattr(os, "sync"):
                        os.sync()
                with self._cond:
                    self._done = target
                    self._cond.notify_all()
        finally:
            if fd is not None:
                os.close(fd)


class Store:
    """Thread-safe access to the SQLite store; one connection guarded by a lock."""

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = home_dir(home).resolve()
        self.logs_dir = self.home / "logs"
        self.path = store_file(self.home)
        self._lock = threading.RLock()
        self._wal_sync = _WalSync(self.path.with_name(self.path.name + "-wal"))
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # One transaction: a new store's tables and columns are one commit, not one per
            # statement (each its own WAL frames, checkpointed when the store closes).
            self._db.executescript(f"BEGIN;\n{_SCHEMA}{_SCHEMA_STATE_MACHINES}{_SCHEDULER_SCHEMA}")
            try:
                self._migrate()
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"Cannot open the local store {self.path}: {exc}. Point {HOME_ENV} at a writable "
                             "directory, e.g. export ORCHESTRATOR_HOME=$PWD/.orchestrator") from None

    def close(self) -> None:
        self._wal_sync.wait()
        with self._lock:
            self._db.close()

    def _migrate(self) -> None:
        """Columns and indexes added after the first release, so stores written by it keep working."""
        columns: dict[str, set[str]] = {}
        for table, column, kind in (("jobs", "task_attempt", "INTEGER"), ("invocations", "task_attempt", "INTEGER"),
                                    ("compiled_plans", "registered", "TEXT")):
            columns[table] = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in columns[table]:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        # A run's jobs and invocations are read by execution (the summary, logs, the console):
        # without these, each read scans every job of every past run (~10 ms at 200 runs of 200
        # tasks). A table too old to have the columns keeps working without.
        for name, table, keys in (("jobs_execution", "jobs", ("execution_arn", "created_at")),
                                  ("invocations_execution", "invocations", ("execution_arn", "started_at"))):
            if set(keys) <= columns[table]:
                self._db.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({', '.join(keys)})")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

    # -- executions ---------------------------------------------------------------------------

    def create_execution(self, *, arn: str, name: str, state_machine_arn: str, workflow: str,
                         parent_arn: str | None, scope: str, input: Any, start_date: str,
                         cwd: str, plan: Any, runner_start: str | None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO executions (arn, name, state_machine_arn, workflow, parent_arn, scope, status,"
                " input, start_date, runner_pid, runner_start, cwd, plan) VALUES"
                " (?, ?, ?, ?, ?, ?, 'RUNNING', ?, ?, ?, ?, ?, ?)",
                (arn, name, state_machine_arn, workflow, parent_arn, scope, json.dumps(input), start_date,
                 os.getpid(), runner_start, cwd, None if plan is None else json.dumps(plan)))

    def restart_execution(self, arn: str, redrive_count: int, runner_start: str | None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE executions SET status='RUNNING', stop_date=NULL, error=NULL, cause=NULL,"
                " output=NULL, redrive_count=?, runner_pid=?, runner_start=? WHERE arn=?",
                (redrive_count, os.getpid(), runner_start, arn))

    def finish_execution(self, arn: str, *, status: str, output: Any, error: str | None,
                         cause: str | None, stop_date: str) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE executions SET status=?, output=?, error=?, cause=?, stop_date=? WHERE arn=?",
                (status, None if output is None else json.dumps(output), error, cause, stop_date, arn))

    def execution(self, arn: str) -> ExecutionRow:
        rows = self._query(f"SELECT {_EXEC_COLS} FROM executions WHERE arn=?", (arn,))
        if not rows:
            raise ExecutionNotFound(f"No execution {arn!r} in {self.path}.")
        return _row(rows[0])

    def executions(self, *, status: str | None = None, state_machine_arn: str | None = None) -> list[ExecutionRow]:
        """Newest first; only those in ``status`` / of ``state_machine_arn`` when given."""
        clauses = [(c, v) for c, v in (("status=?", status), ("state_machine_arn=?", state_machine_arn))
                   if v is not None]
        where = " WHERE " + " AND ".join(c for c, _ in clauses) if clauses else ""
        rows = self._query(f"SELECT {_EXEC_COLS} FROM executions{where} ORDER BY start_date DESC, rowid DESC",
                           tuple(v for _, v in clauses))
        return [_row(r) for r in rows]

    def execution_page(self, *, workflow: str | None = None, status: str | None = None, since: str | None = None,
                       until: str | None = None, search: str | None = None, before: tuple[str, int] | None = None,
                       limit: int = 50) -> tuple[list[dict[str, Any]], int, tuple[str, int] | None]:
        """One page of top-level executions, newest first, for the console: light rows (no input,
        output or plan), the count matching the filters, and the cursor of the next page.

        ``since``/``until`` bound ``start_date`` (ISO text, as stored); ``search`` is a substring of
        the name; ``before`` is the cursor a previous page returned (keyset paging: as fast on the
        last page of 10,000 as on the first).
        """
        clauses: list[str] = ["parent_arn IS NULL"]
        args: list[Any] = []
        for column, op, value in (("workflow", "=", workflow), ("status", "=", status), ("start_date", ">=", since),
                                  ("start_date", "<", until)):
            if value is not None:
                clauses.append(f"{column} {op} ?")
                args.append(value)
        if search:
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("name LIKE ? ESCAPE '\\'")
            args.append(f"%{escaped}%")
        where = " AND ".join(clauses)
        total = int(self._query(f"SELECT COUNT(*) FROM executions WHERE {where}", tuple(args))[0][0])
        if before is not None:
            where += " AND (start_date < ? OR (start_date = ? AND rowid < ?))"
            args.extend([before[0], before[0], before[1]])
        rows = self._query(
            "SELECT rowid, arn, name, state_machine_arn, workflow, status, start_date, stop_date, redrive_count,"
            f" error FROM executions WHERE {where} ORDER BY start_date DESC, rowid DESC LIMIT ?",
            (*args, limit + 1))
        keys = ("rowid", "arn", "name", "state_machine_arn", "workflow", "status", "start_date", "stop_date",
                "redrive_count", "error")
        page = [dict(zip(keys, r, strict=True)) for r in rows[:limit]]
        cursor = (page[-1]["start_date"], page[-1]["rowid"]) if len(rows) > limit else None
        for item in page:
            del item["rowid"]
        return page, total, cursor

    def children(self, arn: str) -> list[ExecutionRow]:
        rows = self._query(f"SELECT {_EXEC_COLS} FROM executions WHERE parent_arn=? ORDER BY start_date",
                           (arn,))
        return [_row(r) for r in rows]

    def resolve(self, text: str) -> ExecutionRow:
        """An execution by ARN, name, or unique prefix of either (EXECUTION on the command line)."""
        rows = self.executions()
        for row in rows:
            if text in (row.arn, row.name):
                return row
        matches = [r for r in rows if r.name.startswith(text) or r.arn.startswith(text)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            hint = f" The newest is {rows[0].name!r}." if rows else " There are none yet: `orchestrator run SPEC`."
            raise ExecutionNotFound(f"No execution matches {text!r} in {self.path}.{hint}")
        names = ", ".join(repr(r.name) for r in matches[:5])
        raise ExecutionNotFound(
            f"{text!r} matches {len(matches)} executions ({names}{', ...' if len(matches) > 5 else ''});"
            " give more of the name or the full ARN.")

    # -- history ------------------------------------------------------------------------------

    def append_event(self, arn: str, event: dict[str, Any], *, offset: int = 0) -> None:
        """Store one history event; committed before returning (crash safety)."""
        stored = dict(event)
        stored["id"] = int(event.get("id", 0)) + offset
        if "previousEventId" in stored and stored["previousEventId"]:
            stored["previousEventId"] = int(stored["previousEventId"]) + offset
        timestamp = stored.get("timestamp")
        ts = timestamp if isinstance(timestamp, str) else str(timestamp)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO events (execution_arn, id, timestamp, type, body) VALUES (?, ?, ?, ?, ?)",
                (arn, stored["id"], ts, str(stored.get("type")), json.dumps(stored, default=str)))

    def last_event_id(self, arn: str) -> int:
        rows = self._query("SELECT MAX(id) FROM events WHERE execution_arn=?", (arn,))
        return int(rows[0][0] or 0)

    def events(self, arn: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT body FROM events WHERE execution_arn=? ORDER BY id", (arn,))
        return [json.loads(r[0]) for r in rows]

    def events_after(self, arn: str, after: int, limit: int) -> list[dict[str, Any]]:
        """At most ``limit`` events with ids above ``after`` (the console's incremental history)."""
        rows = self._query("SELECT body FROM events WHERE execution_arn=? AND id>? ORDER BY id LIMIT ?",
                           (arn, after, limit))
        return [json.loads(r[0]) for r in rows]

    # -- task results (redrive) ---------------------------------------------------------------

    def put_result(self, scope: str, key: str, state_name: str, output: Any, redrive_count: int) -> None:
        """Store a completed task's result durably: committed, and fsynced by ``sync_results``'s time.

        The commit survives a killed runner at once, as every write does; the WAL's fsync (which
        makes it, and every commit before it, survive a power cut) runs on the sync thread.
        """
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO task_results (scope, key, state_name, output, redrive_count)"
                " VALUES (?, ?, ?, ?, ?)", (scope, key, state_name, json.dumps(output), redrive_count))
        self._wal_sync.ask()

    def sync_results(self) -> None:
        """Return once every result ``put_result`` stored so far is on disk (fsynced)."""
        self._wal_sync.wait()

    def get_result(self, scope: str, key: str) -> tuple[bool, Any]:
        rows = self._query("SELECT output FROM task_results WHERE scope=? AND key=?", (scope, key))
        return (True, json.loads(rows[0][0])) if rows else (False, None)

    # -- compiled plans (runs.cached_plan) -----------------------------------------------------

    def compiled_plan(self, key: str) -> Any:
        """The plan stored under ``key``, or None. A row that is not a plan's JSON object (a store
        edited by hand, a write cut short) is a miss too: the plan is compiled and kept again."""
        rows = self._query("SELECT plan FROM compiled_plans WHERE key=?", (key,))
        return _cached_object(rows[0][0]) if rows else None

    def put_compiled_plan(self, key: str, plan: Any) -> None:
        """Keep ``plan`` under ``key``, and only the newest ``COMPILED_PLANS_KEPT`` plans."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO compiled_plans (key, plan) VALUES (?, ?)", (key, json.dumps(plan)))
            db.execute("DELETE FROM compiled_plans WHERE rowid NOT IN"
                       " (SELECT rowid FROM compiled_plans ORDER BY rowid DESC LIMIT ?)", (COMPILED_PLANS_KEPT,))

    def valid_document(self, digest: str) -> bool:
        """Whether a spec document with this digest was found valid (``kept.ValidDocuments``)."""
        return bool(self._query("SELECT 1 FROM valid_documents WHERE digest=?", (digest,)))

    def put_valid_document(self, digest: str) -> None:
        """Record a document found valid, keeping only the newest ``VALID_DOCUMENTS_KEPT``."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO valid_documents (digest) VALUES (?)", (digest,))
            db.execute("DELETE FROM valid_documents WHERE rowid NOT IN"
                       " (SELECT rowid FROM valid_documents ORDER BY rowid DESC LIMIT ?)", (VALID_DOCUMENTS_KEPT,))

    def registered_revisions(self, key: str) -> dict[str, str]:
        """The state machines the plan under ``key`` last registered: ARN -> revision id."""
        rows = self._query("SELECT registered FROM compiled_plans WHERE key=?", (key,))
        found: dict[str, str] = (_cached_object(rows[0][0]) or {}) if rows else {}
        return found

    def record_registered(self, key: str, revisions: dict[str, str]) -> None:
        with self._lock:
            self._db.execute("UPDATE compiled_plans SET registered=? WHERE key=?", (json.dumps(revisions), key))

    def state_machine_revisions(self, arns: list[str]) -> dict[str, str]:
        """ARN -> revision id of those of ``arns`` that are registered (without reading their rows)."""
        rows = self._query(f"SELECT arn, revision_id FROM state_machines WHERE arn IN ({', '.join('?' * len(arns))})",
                           tuple(arns))
        return {str(arn): str(revision) for arn, revision in rows}

    # -- jobs, invocations, messages ----------------------------------------------------------

    def put_job(self, job: dict[str, Any], *, execution_arn: str | None, state_name: str | None,
                log_paths: list[str], updated_at: int, task_attempt: int | None = None) -> None:
        """``task_attempt``: which attempt of its Task state submitted the job (1 = the first)."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO jobs (job_id, execution_arn, state_name, job_name, queue, status,"
                " status_reason, attempts, created_at, updated_at, log_paths, description, task_attempt)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job["JobId"], execution_arn, state_name, job["JobName"], job["JobQueue"], job["Status"],
                 job.get("StatusReason"), len(job.get("Attempts", [])), job["CreatedAt"], updated_at,
                 json.dumps(log_paths), json.dumps(job), task_attempt))

    def fail_open_jobs(self, execution_arn: str, reason: str) -> None:
        """Jobs left unfinished by a dead runner (its watchdog killed their processes) → FAILED."""
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET status='FAILED', status_reason=? WHERE execution_arn=?"
                " AND status NOT IN ('SUCCEEDED', 'FAILED')", (reason, execution_arn))

    def jobs(self, execution_arn: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT job_id, state_name, job_name, queue, status, status_reason, attempts, log_paths,"
            " description, task_attempt FROM jobs WHERE execution_arn=? ORDER BY created_at, rowid", (execution_arn,))
        keys = ("job_id", "state_name", "job_name", "queue", "status", "status_reason", "attempts",
                "log_paths", "description", "task_attempt")
        out = []
        for r in rows:
            item = dict(zip(keys, r, strict=True))
            item["log_paths"] = json.loads(item["log_paths"])
            item["description"] = _loads(item["description"])
            out.append(item)
        return out

    def job_summaries(self, execution_arn: str) -> list[dict[str, Any]]:
        """``jobs`` with only the fields of the description a run's summary shows: created_at,
        started_at, stopped_at (epoch ms), exit_code and log_stream (of failed jobs).

        SQLite's json_extract reads them without decoding each job's whole description (~2 KB:
        json.loads of a 1,000-job run's took 30-45 ms, json_extract 6-7 ms); where SQLite lacks
        its JSON functions the descriptions are decoded here.
        """
        keys = ("job_id", "state_name", "job_name", "status", "status_reason", "attempts", "task_attempt",
                "created_at", "started_at", "stopped_at", "exit_code", "log_stream")
        try:
            rows = self._query(
                "SELECT job_id, state_name, job_name, status, status_reason, attempts, task_attempt, created_at,"
                " json_extract(description, '$.StartedAt'), json_extract(description, '$.StoppedAt'),"
                " CASE status WHEN 'FAILED' THEN json_extract(description, '$.Container.ExitCode') END,"
                " CASE status WHEN 'FAILED' THEN json_extract(description, '$.Container.LogStreamName') END"
                " FROM jobs WHERE execution_arn=? ORDER BY created_at, rowid", (execution_arn,))
        except sqlite3.OperationalError:  # no json_extract in this SQLite
            rows = []
            for job in self.jobs(execution_arn):
                described = job["description"] or {}
                container = described.get("Container") or {}
                failed = job["status"] == "FAILED"
                rows.append((*(job[k] for k in keys[:7]), described.get("CreatedAt") or 0, described.get("StartedAt"),
                             described.get("StoppedAt"), container.get("ExitCode") if failed else None,
                             container.get("LogStreamName") if failed else None))
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def put_invocation(self, *, request_id: str, execution_arn: str | None, state_name: str | None,
                       function_name: str, status: str, started_at: int, duration_ms: float | None,
                       error: str | None, log_path: str | None, task_attempt: int | None = None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO invocations (request_id, execution_arn, state_name, function_name,"
                " status, started_at, duration_ms, error, log_path, task_attempt)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (request_id, execution_arn, state_name, function_name, status, started_at, duration_ms,
                 error, log_path, task_attempt))

    def invocations(self, execution_arn: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT request_id, state_name, function_name, status, duration_ms, error, log_path, started_at,"
            " task_attempt FROM invocations WHERE execution_arn=? ORDER BY started_at, rowid", (execution_arn,))
        keys = ("request_id", "state_name", "function_name", "status", "duration_ms", "error", "log_path",
                "started_at", "task_attempt")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def put_message(self, *, message_id: str, execution_arn: str | None, state_name: str | None,
                    topic_arn: str, subject: str | None, message: str, attributes: Any,
                    created_at: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO messages (message_id, execution_arn, state_name, topic_arn, subject, message,"
                " attributes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (message_id, execution_arn, state_name, topic_arn, subject, message,
                 json.dumps(attributes), created_at))

    def messages(self, execution_arn: str | None = None) -> list[dict[str, Any]]:
        where, args = ("WHERE execution_arn=?", (execution_arn,)) if execution_arn else ("", ())
        rows = self._query(
            f"SELECT message_id, execution_arn, state_name, topic_arn, subject, message, attributes FROM messages"
            f" {where} ORDER BY created_at, rowid", args)
        keys = ("message_id", "execution_arn", "state_name", "topic_arn", "subject", "message", "attributes")
        return [{**dict(zip(keys, r, strict=True)), "attributes": _loads(r[6]) or {}} for r in rows]

    def put_delivery(self, *, message_id: str, target: str, attempt: int, status: str,
                     error: str | None, at: int) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO deliveries (message_id, target, attempt, status, error, at) VALUES (?, ?, ?, ?, ?, ?)",
                (message_id, target, attempt, status, error, at))

    def unfinished_deliveries(self, *, include_failed: bool = False) -> list[dict[str, Any]]:
        """Deliveries whose last record is RETRYING (or FAILED too), with their message, oldest first.

        Each row: message_id, target, attempt (the last one made), status, execution_arn, topic_arn,
        subject, message, created_at, runner_pid, runner_start (of the publishing execution).
        """
        statuses = ("RETRYING", "FAILED") if include_failed else ("RETRYING",)
        rows = self._query(
            "SELECT d.message_id, d.target, d.attempt, d.status, m.execution_arn, m.topic_arn, m.subject,"
            " m.message, m.created_at, e.runner_pid, e.runner_start FROM deliveries d"
            " JOIN messages m ON m.message_id = d.message_id"
            " LEFT JOIN executions e ON e.arn = m.execution_arn"
            " WHERE d.rowid = (SELECT MAX(rowid) FROM deliveries l WHERE l.message_id = d.message_id"
            " AND l.target = d.target)"
            f" AND d.status IN ({', '.join('?' for _ in statuses)}) ORDER BY m.created_at, d.rowid", statuses)
        keys = ("message_id", "target", "attempt", "status", "execution_arn", "topic_arn", "subject", "message",
                "created_at", "runner_pid", "runner_start")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def deliveries(self, message_id: str) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT target, attempt, status, error FROM deliveries WHERE message_id=? ORDER BY rowid",
            (message_id,))
        return [dict(zip(("target", "attempt", "status", "error"), r, strict=True)) for r in rows]

    # -- schedules (orchestrator.scheduler) ---------------------------------------------------
    # Dates are ISO-8601 UTC strings of one width, so SQL compares them as times.

    def schedules(self) -> dict[str, dict[str, Any]]:
        rows = self._query(f"SELECT {', '.join(_SCHEDULE_COLS)} FROM schedules ORDER BY workflow")
        return {r[0]: dict(zip(_SCHEDULE_COLS, r, strict=True)) for r in rows}

    def register_schedule(self, *, workflow: str, state_machine_arn: str, expression: str, timezone: str,
                          schedule: str, enabled: bool, now: str) -> dict[str, Any]:
        """The schedule's row, created if new; reset (anchor now, no last fire, next generation)
        when its expression, time zone or state machine changed or it was re-enabled. Conditional
        writes, so two schedulers seeing the same change agree on one anchor."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO schedules (workflow, state_machine_arn, expression, timezone, schedule,"
                " enabled, anchor, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (workflow, state_machine_arn, expression, timezone, schedule, int(enabled), now, now))
            db.execute(
                "UPDATE schedules SET anchor=?, last_fire=NULL, generation=generation+1, updated=?"
                " WHERE workflow=? AND (expression<>? OR timezone<>? OR state_machine_arn<>?"
                " OR (enabled=0 AND ?=1))",
                (now, now, workflow, expression, timezone, state_machine_arn, int(enabled)))
            db.execute(
                "UPDATE schedules SET state_machine_arn=?, expression=?, timezone=?, schedule=?, enabled=?"
                " WHERE workflow=?", (state_machine_arn, expression, timezone, schedule, int(enabled), workflow))
            row = db.execute(f"SELECT {', '.join(_SCHEDULE_COLS)} FROM schedules WHERE workflow=?",
                             (workflow,)).fetchone()
        return dict(zip(_SCHEDULE_COLS, row, strict=True))

    def pause_schedule(self, workflow: str, paused: bool, now: str) -> bool:
        """Pause, or resume from now on (the paused gap is not caught up); False if unknown."""
        with self._tx() as db:
            if paused:
                cursor = db.execute("UPDATE schedules SET paused=1, updated=? WHERE workflow=?", (now, workflow))
            else:
                cursor = db.execute(
                    "UPDATE schedules SET paused=0, anchor=?, last_fire=NULL, generation=generation+1, updated=?"
                    " WHERE workflow=? AND paused=1", (now, now, workflow))
                if not cursor.rowcount:
                    cursor = db.execute("SELECT 1 FROM schedules WHERE workflow=?", (workflow,))
                    return cursor.fetchone() is not None
        return bool(cursor.rowcount)

    def schedule(self, workflow: str) -> dict[str, Any] | None:
        rows = self._query(f"SELECT {', '.join(_SCHEDULE_COLS)} FROM schedules WHERE workflow=?", (workflow,))
        return dict(zip(_SCHEDULE_COLS, rows[0], strict=True)) if rows else None

    def claim_fires(self, claims: list[tuple[str, int, list[tuple[str, str]], str]], *, owner_pid: int,
                    owner_start: str | None, now: str) -> dict[str, list[str]]:
        """For each (workflow, generation, fires, last fire): claim the fires (scheduled time,
        execution name) and move the workflow's last fire forward, all in one transaction; the
        scheduled times this caller won per workflow (another scheduler may hold the rest). A
        workflow reset since ``generation`` was read claims nothing."""
        won: dict[str, list[str]] = {}
        with self._tx() as db:
            for workflow, generation, fires, last_fire in claims:
                current = db.execute("SELECT generation FROM schedules WHERE workflow=?", (workflow,)).fetchone()
                if current is None or current[0] != generation:
                    continue
                mine = won.setdefault(workflow, [])
                for scheduled_time, name in fires:
                    cursor = db.execute(
                        "INSERT OR IGNORE INTO schedule_fires (workflow, scheduled_time, execution_name, status,"
                        " owner_pid, owner_start, updated) VALUES (?, ?, ?, 'CLAIMED', ?, ?, ?)",
                        (workflow, scheduled_time, name, owner_pid, owner_start, now))
                    if cursor.rowcount:
                        mine.append(scheduled_time)
                db.execute("UPDATE schedules SET last_fire=? WHERE workflow=? AND (last_fire IS NULL OR last_fire<?)",
                           (last_fire, workflow, last_fire))
        return won

    def take_fire(self, workflow: str, scheduled_time: str, *, status: str, owner: tuple[int, str | None] | None,
                  owner_pid: int, owner_start: str | None, now: str) -> bool:
        """Move a fire in ``status`` (and held by ``owner``, when given) to CLAIMED by this caller;
        False if another caller took it first."""
        sql = ("UPDATE schedule_fires SET status='CLAIMED', owner_pid=?, owner_start=?, updated=?"
               " WHERE workflow=? AND scheduled_time=? AND status=?")
        args: tuple[Any, ...] = (owner_pid, owner_start, now, workflow, scheduled_time, status)
        if owner is not None:
            sql += " AND owner_pid IS ? AND owner_start IS ?"
            args += owner
        with self._tx() as db:
            return bool(db.execute(sql, args).rowcount)

    def finish_fires(self, results: list[tuple[str, str, str, str | None, str | None]], *, now: str) -> None:
        """Record what became of fires: (workflow, scheduled time, status, execution ARN, detail)."""
        if not results:
            return
        with self._tx() as db:
            db.executemany("UPDATE schedule_fires SET status=?, execution_arn=COALESCE(?, execution_arn), detail=?,"
                           " updated=? WHERE workflow=? AND scheduled_time=?",
                           [(status, arn, detail, now, workflow, stamp) for workflow, stamp, status, arn, detail in results])

    def schedule_fires(self, workflow: str | None = None, *, statuses: tuple[str, ...] = (),
                       limit: int | None = None) -> list[dict[str, Any]]:
        """Fires oldest first (newest first with ``limit``: the last ``limit``)."""
        where, args = [], []
        if workflow is not None:
            where.append("workflow=?")
            args.append(workflow)
        if statuses:
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            args.extend(statuses)
        sql = f"SELECT {', '.join(_FIRE_COLS)} FROM schedule_fires"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY scheduled_time" + (f" DESC LIMIT {int(limit)}" if limit is not None else "")
        return [dict(zip(_FIRE_COLS, r, strict=True)) for r in self._query(sql, tuple(args))]

    def execution_named(self, workflow: str, name: str) -> ExecutionRow | None:
        """The top-level execution of ``workflow`` called ``name`` (names are unique per machine)."""
        rows = self._query(f"SELECT {_EXEC_COLS} FROM executions WHERE workflow=? AND name=? AND parent_arn IS NULL",
                           (workflow, name))
        return _row(rows[0]) if rows else None

    # -- serve: state machines, versions, aliases, tags ---------------------------------------

    def put_state_machine(self, machine: StateMachineRow) -> None:
        """Create or replace a state machine (its versions, aliases and tags are kept)."""
        with self._lock:
            self._db.execute(
                f"INSERT OR REPLACE INTO state_machines ({_SM_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (machine.arn, machine.name, machine.type, machine.definition, machine.role_arn,
                 machine.description, _dumps(machine.logging), _dumps(machine.tracing), machine.creation_date,
                 machine.update_date, machine.revision_id, machine.workflow, _dumps(machine.plan)))

    def state_machine(self, arn: str) -> StateMachineRow | None:
        rows = self._query(f"SELECT {_SM_COLS} FROM state_machines WHERE arn=?", (arn,))
        return _sm_row(rows[0]) if rows else None

    def state_machines(self) -> list[StateMachineRow]:
        """Oldest first (ListStateMachines' order is by name on AWS; callers sort as they need)."""
        rows = self._query(f"SELECT {_SM_COLS} FROM state_machines ORDER BY creation_date, rowid")
        return [_sm_row(r) for r in rows]

    def delete_state_machine(self, arn: str) -> None:
        """Remove a state machine with its versions, aliases and tags (its executions stay)."""
        with self._tx() as db:
            for arn_of in [arn, *(r[0] for r in db.execute(
                    "SELECT arn FROM state_machine_versions WHERE state_machine_arn=?"
                    " UNION SELECT arn FROM state_machine_aliases WHERE state_machine_arn=?", (arn, arn)))]:
                db.execute("DELETE FROM resource_tags WHERE resource_arn=?", (arn_of,))
            db.execute("DELETE FROM state_machine_versions WHERE state_machine_arn=?", (arn,))
            db.execute("DELETE FROM state_machine_aliases WHERE state_machine_arn=?", (arn,))
            db.execute("DELETE FROM state_machines WHERE arn=?", (arn,))

    def add_version(self, *, state_machine_arn: str, definition: str, role_arn: str, description: str | None,
                    revision_id: str, creation_date: str) -> dict[str, Any]:
        """Publish the next version number of a state machine; returns the version's row."""
        with self._tx() as db:
            number = int(db.execute("SELECT COALESCE(MAX(version), 0) FROM state_machine_versions"
                                    " WHERE state_machine_arn=?", (state_machine_arn,)).fetchone()[0]) + 1
            arn = f"{state_machine_arn}:{number}"
            db.execute("INSERT INTO state_machine_versions (arn, state_machine_arn, version, definition, role_arn,"
                       " description, revision_id, creation_date) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (arn, state_machine_arn, number, definition, role_arn, description, revision_id,
                        creation_date))
        found = self.version(arn)
        assert found is not None
        return found

    def version(self, arn: str) -> dict[str, Any] | None:
        rows = self._query(f"SELECT {_VERSION_COLS} FROM state_machine_versions WHERE arn=?", (arn,))
        return dict(zip(_VERSION_KEYS, rows[0], strict=True)) if rows else None

    def versions(self, state_machine_arn: str) -> list[dict[str, Any]]:
        """Newest first, as ListStateMachineVersions."""
        rows = self._query(f"SELECT {_VERSION_COLS} FROM state_machine_versions WHERE state_machine_arn=?"
                           " ORDER BY version DESC", (state_machine_arn,))
        return [dict(zip(_VERSION_KEYS, r, strict=True)) for r in rows]

    def delete_version(self, arn: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM state_machine_versions WHERE arn=?", (arn,))
            db.execute("DELETE FROM resource_tags WHERE resource_arn=?", (arn,))

    def put_alias(self, *, arn: str, state_machine_arn: str, name: str, description: str | None,
                  routing: list[dict[str, Any]], creation_date: str, update_date: str | None) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO state_machine_aliases (arn, state_machine_arn, name, description, routing,"
                " creation_date, update_date) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (arn, state_machine_arn, name, description, json.dumps(routing), creation_date, update_date))

    def alias(self, arn: str) -> dict[str, Any] | None:
        rows = self._query(f"SELECT {_ALIAS_COLS} FROM state_machine_aliases WHERE arn=?", (arn,))
        return _alias_row(rows[0]) if rows else None

    def aliases(self, state_machine_arn: str) -> list[dict[str, Any]]:
        rows = self._query(f"SELECT {_ALIAS_COLS} FROM state_machine_aliases WHERE state_machine_arn=?"
                           " ORDER BY creation_date, rowid", (state_machine_arn,))
        return [_alias_row(r) for r in rows]

    def delete_alias(self, arn: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM state_machine_aliases WHERE arn=?", (arn,))
            db.execute("DELETE FROM resource_tags WHERE resource_arn=?", (arn,))

    def tags(self, resource_arn: str) -> dict[str, str]:
        rows = self._query("SELECT key, value FROM resource_tags WHERE resource_arn=? ORDER BY rowid",
                           (resource_arn,))
        return {str(k): str(v) for k, v in rows}

    def tag(self, resource_arn: str, tags: dict[str, str]) -> None:
        with self._tx() as db:
            db.executemany("INSERT OR REPLACE INTO resource_tags (resource_arn, key, value) VALUES (?, ?, ?)",
                           [(resource_arn, k, v) for k, v in tags.items()])

    def untag(self, resource_arn: str, keys: list[str]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM resource_tags WHERE resource_arn=? AND key=?",
                           [(resource_arn, k) for k in keys])


@dataclass(frozen=True, slots=True, kw_only=True)
class StateMachineRow:
    """A registered state machine: DescribeStateMachine's fields, plus the local plan that runs it.

    ``plan`` is what ``orchestrator.local.runs`` needs to run the machine (``build_plan``'s
    shape); ``workflow`` names the project workflow it was compiled from, if any. Dates are ISO.
    """

    arn: str
    name: str
    type: str
    definition: str
    role_arn: str
    creation_date: str
    revision_id: str
    description: str | None = None
    logging: Any = None
    tracing: Any = None
    update_date: str | None = None
    workflow: str | None = None
    plan: Any = None


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


_SM_COLS = ("arn, name, type, definition, role_arn, description, logging, tracing, creation_date, update_date,"
            " revision_id, workflow, plan")
_VERSION_KEYS = ("arn", "state_machine_arn", "version", "definition", "role_arn", "description", "revision_id",
                 "creation_date")
_VERSION_COLS = ", ".join(_VERSION_KEYS)
_ALIAS_KEYS = ("arn", "state_machine_arn", "name", "description", "routing", "creation_date", "update_date")
_ALIAS_COLS = ", ".join(_ALIAS_KEYS)


def _sm_row(r: tuple[Any, ...]) -> StateMachineRow:
    return StateMachineRow(arn=r[0], name=r[1], type=r[2], definition=r[3], role_arn=r[4], description=r[5],
                           logging=_loads(r[6]), tracing=_loads(r[7]), creation_date=r[8], update_date=r[9],
                           revision_id=r[10], workflow=r[11], plan=_loads(r[12]))


def _alias_row(r: tuple[Any, ...]) -> dict[str, Any]:
    row = dict(zip(_ALIAS_KEYS, r, strict=True))
    row["routing"] = json.loads(row["routing"])
    return row


_EXEC_COLS = ("arn, name, state_machine_arn, workflow, parent_arn, scope, status, input, output, error, cause,"
              " start_date, stop_date, redrive_count, runner_pid, runner_start, cwd, plan")


def _row(r: tuple[Any, ...]) -> ExecutionRow:
    return ExecutionRow(
        arn=r[0], name=r[1], state_machine_arn=r[2], workflow=r[3], parent_arn=r[4], scope=r[5],
        status=r[6], input=_loads(r[7]), output=_loads(r[8]), error=r[9], cause=r[10], start_date=r[11],
        stop_date=r[12], redrive_count=r[13], runner_pid=r[14], runner_start=r[15], cwd=r[16],
        plan=_loads(r[17]))
