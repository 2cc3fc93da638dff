"""Database engine settings applied when the engine is first created (SQLite WAL, locking).

SQLite allows one writer at a time. A transaction that reads first and writes later must upgrade its read
lock, and in WAL mode that upgrade fails at once (SQLITE_BUSY, no busy wait) when another connection wrote
in the meantime: so every transaction begins IMMEDIATE, holding the write lock from its first statement.

Except the read-only requests: GET, HEAD and OPTIONS begin their transactions deferred (a plain BEGIN), so
they neither wait for nor block the writers (other workers, the scheduler). A statement that would write in
such a transaction raises `NeedsWriteLock` before it reaches SQLite; the request is then rolled back and run
again from the start with write-locked (IMMEDIATE) transactions. Writes are therefore never attempted
without the write lock; a GET that writes (opening a 抄送 marks it read, an API token's use is recorded once
a minute) costs its reads twice.

Pooled connections (every backend) are checked for life only when they sat idle in the pool for
IDLE_PING_SECONDS or more: a connection in steady use is known to be alive, and a round trip per checkout
(SQLAlchemy's `pool_pre_ping`) costs PostgreSQL requests about 8 % of their time. A connection that
fails the check is replaced before the request uses it (SQLAlchemy retries the checkout).
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

from flask import Flask, g, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

from app.extensions import db

READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: first words of the statements a deferred transaction may run (anything else counts as a write)
READ_STATEMENTS = frozenset({"SELECT", "PRAGMA", "EXPLAIN", "SAVEPOINT", "RELEASE", "ROLLBACK"})
_DEFERRED: ContextVar[bool] = ContextVar("govflow_sqlite_deferred_begin", default=False)
_INFO_KEY = "govflow_deferred"
_WRITE_LOCKED = "govflow_write_locked"
IDLE_PING_SECONDS = 10.0
_IDLE_SINCE = "govflow_idle_since"
_WROTE = "govflow_wrote"
_PG_READS = frozenset({"SELECT", "SHOW", "EXPLAIN"})  # statements that cannot have written anything


class NeedsWriteLock(Exception):
    """A statement would write in a SQLite transaction begun without the write lock (deferred)."""


def register(app: Flask) -> None:
    """Configure SQLite connections, and on SQLite run read-only requests in deferred transactions."""
    with app.app_context():
        engine = db.engine
        check_idle_connections(engine)
        if engine.dialect.name == "postgresql":
            end_reads_with_commit(app, engine)
        if engine.dialect.name != "sqlite":
            return
        configure_sqlite(engine)

    @app.before_request
    def _begin_deferred_when_reading() -> None:
        _DEFERRED.set(request.method in READ_ONLY_METHODS and not g.get(_WRITE_LOCKED, False))

    @app.teardown_request
    def _begin_immediate_again(_error: BaseException | None) -> None:
        _DEFERRED.set(False)
        g.pop(_WRITE_LOCKED, None)

    @app.errorhandler(NeedsWriteLock)
    def _again_with_write_lock(_error: NeedsWriteLock) -> Any:
        """Roll back and run the request again (its before-request hooks, then the view) write-locked."""
        db.session.rollback()
        _DEFERRED.set(False)
        setattr(g, _WRITE_LOCKED, True)  # for the before-request hooks run again below
        try:
            response = app.preprocess_request()
            if response is None:
                response = app.dispatch_request()
        except Exception as error:  # handled as the first run would have been (403, 404, …)
            response = app.handle_user_exception(error)
        return response


def check_idle_connections(engine: Engine) -> None:
    """Ping a pooled connection at checkout when it was idle IDLE_PING_SECONDS or more (see above)."""

    @event.listens_for(engine, "checkin")
    def _idle_from_now(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive_after_idling(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop(_IDLE_SINCE, None)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return  # new, or in steady use
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
            dbapi_connection.rollback()  # the probe opened no work worth keeping
        except Exception as error:  # any driver error: the connection is gone
            raise DisconnectionError("pooled connection failed its liveness check") from error


def configure_sqlite(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, busy timeout; BEGIN IMMEDIATE, or deferred BEGIN inside `_DEFERRED`."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        deferred = _DEFERRED.get()
        conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")
        conn.info[_INFO_KEY] = deferred

    @event.listens_for(engine, "before_cursor_execute")
    def _refuse_writes_without_lock(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get(_INFO_KEY) and statement.lstrip().split(None, 1)[0].upper() not in READ_STATEMENTS:
            raise NeedsWriteLock(statement.split(None, 1)[0])

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _transaction_over(conn: Any) -> None:
        conn.info[_INFO_KEY] = False


def end_reads_with_commit(app: Flask, engine: Engine) -> None:
    """PostgreSQL: a request whose transaction ran only reads ends it with COMMIT instead of ROLLBACK.

    Both end a read-only transaction the same way, but psycopg forgets every prepared statement of the
    connection on a ROLLBACK (and sends DEALLOCATE ALL on the next use): each list or page request would
    wipe them, and the statements of the next requests would be parsed and planned again from scratch.
    A transaction that ran anything but plain reads, or a request that failed, is rolled back as before.
    """

    @event.listens_for(engine, "before_cursor_execute")
    def _note_writes(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not conn.info.get(_WROTE) and statement.lstrip().split(None, 1)[0].upper() not in _PG_READS:
            conn.info[_WROTE] = True

    @event.listens_for(engine, "begin")
    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _transaction_boundary(conn: Any) -> None:
        conn.info[_WROTE] = False

    @app.teardown_request
    def _commit_reads(error: BaseException | None) -> None:
        session = db.session()
        if (
            error is not None
            or not session.in_transaction()
            or session.new
            or session.dirty
            or session.deleted
        ):
            return
        if session.connection().info.get(_WROTE, True):
            return  # wrote something without committing it: the rollback that follows undoes it
        try:
            session.commit()
        except Exception:  # the connection broke: what follows (rollback, pool) deals with it
            session.rollback()
