"""The DuckDB catalog: schema migrations, named SQL from sql/, check queries.

All SQL lives in the `sql/` package (migrations/NNN_*.sql, views/*.sql, queries/*.sql, checks/*.sql);
Python refers to it by name, e.g. `cat.query("report/totals")`. Migrations are applied on open, one
transaction each, and recorded in `schema_migrations`; views are (re)created after them in file order.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from distillate.errors import DistillateError

SQL_PACKAGE = "distillate.sql"


def _sql_root():
    return resources.files(SQL_PACKAGE)


_KINDS = ("migrations", "views", "queries", "checks")


@cache
def sql_text(name: str) -> str:
    """The text of a named SQL file: 'dedup/report' is sql/queries/dedup/report.sql (each package's queries
    in their own folder); a name starting with a kind ('views/100_candidates') is taken from sql/ as is."""
    rel = name if name.split("/", 1)[0] in _KINDS else f"queries/{name}"
    f = _sql_root().joinpath(*f"{rel}.sql".split("/"))
    if not f.is_file():
        raise KeyError(f"no SQL file sql/{rel}.sql")
    return f.read_text(encoding="utf-8")


def _files(kind: str) -> list[tuple[str, str]]:
    d = _sql_root().joinpath(kind)
    return sorted((f.name, f.read_text(encoding="utf-8")) for f in d.iterdir() if f.name.endswith(".sql"))


def _strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))


@cache
def _statements(sql: str) -> list[str]:
    """Split a file on ';' at line ends (the convention of sql/: never a ';' ending a line inside a string)."""
    parts, cur = [], []
    for line in sql.splitlines():
        cur.append(line)
        if line.rstrip().endswith(";"):
            parts.append("\n".join(cur))
            cur = []
    if cur:
        parts.append("\n".join(cur))
    return [p for p in parts if _strip_comments(p).strip()]


_WRITE = ("insert", "update", "delete", "create", "drop", "alter", "copy", "attach", "detach", "checkpoint", "set")


def _is_write(stmt: str) -> bool:
    body = _strip_comments(stmt).lstrip().lower()
    return body.startswith(_WRITE) and " returning " not in body


def migrations() -> list[tuple[int, str, str]]:
    out = []
    for fname, text in _files("migrations"):
        num = int(fname.split("_", 1)[0])
        out.append((num, fname, text))
    nums = [n for n, _, _ in out]
    if len(nums) != len(set(nums)):
        raise RuntimeError(f"duplicate migration numbers in sql/migrations: {nums}")
    return out


class Catalog:
    """A connection to one catalog file. Writers get it from `Workspace.job()`, readers from
    `Workspace.reader()` (an immutable snapshot); open it directly only in tests and tools."""

    def __init__(self, path: str | Path, read_only: bool = False):
        self.path = Path(path)
        self.read_only = read_only
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.IOException as e:
            if "lock" in str(e).lower():
                raise DistillateError(
                    f"the catalog {self.path} is open for writing by another process; "
                    "readers use snapshots (Workspace.reader), writers take the job lock"
                ) from e
            raise
        if not read_only:
            # checkpoint every 256 MB of WAL, not DuckDB's 16 MB: ingesting 20 KB traces in 2,000-row
            # commits otherwise checkpoints after every commit (~15% of ingest time)
            self.con.execute("SET checkpoint_threshold = '256MB'")
            self.migrate()

    # -- schema --------------------------------------------------------------------------------
    def migrate(self) -> list[str]:
        con = self.con
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR, "
            "checksum VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)"
        ).fetchall()
        done = {v for (v,) in con.execute("SELECT version FROM schema_migrations").fetchall()}
        applied = []
        for num, fname, text in migrations():
            if num in done:
                continue
            con.execute("BEGIN")
            try:
                con.execute(text).fetchall()
                con.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                    [num, fname, hashlib.sha256(text.encode()).hexdigest()[:16]],
                ).fetchall()
                con.execute("COMMIT").fetchall()
            except Exception:
                con.execute("ROLLBACK")
                raise
            applied.append(fname)
        for _, text in _files("views"):
            con.execute(text).fetchall()
        return applied

    def schema_version(self) -> int:
        return self.con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchall()[0][0]

    # -- queries -------------------------------------------------------------------------------
    def arrow(self, name: str, params: dict[str, Any] | None = None):
        """The rows of the named single-SELECT file as an Arrow table (the relation API: no copy of the rows
        through the DB-API cursor)."""
        return self.con.sql(sql_text(name), params=params or {}).to_arrow_table()

    def sql(self, name: str, params: dict[str, Any] | list | None = None) -> duckdb.DuckDBPyConnection:
        """Execute the named SQL file with parameters (never string-formatted values).

        A file may hold several statements; each gets the named parameters it mentions. The cursor of
        the last statement is returned."""
        cur = None
        stmts = _statements(sql_text(name))
        for i, stmt in enumerate(stmts):
            if isinstance(params, dict):
                cur = self.con.execute(stmt, {k: v for k, v in params.items() if f"${k}" in stmt})
            else:
                cur = self.con.execute(stmt, params or [])
            if i < len(stmts) - 1 or _is_write(stmt):
                # DuckDB >= 2 refuses new work on a connection with an unfinished result: consume
                # results of writes here (their row counts), leave query results to the caller.
                cur.fetchall()
        return cur

    def run(self, name: str, params: dict[str, Any] | list | None = None) -> None:
        """Execute a named SQL file for its effect (all results consumed)."""
        self.sql(name, params).fetchall()

    def query(self, name: str, params: dict[str, Any] | list | None = None) -> list[dict[str, Any]]:
        cur = self.sql(name, params)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]

    def scalar(self, name: str, params: dict[str, Any] | list | None = None):
        rows = self.sql(name, params).fetchall()
        return rows[0][0] if rows else None

    def reader(self, name: str, params: dict[str, Any] | None = None, batch_size: int = 1024):
        """Stream the named SELECT as Arrow record batches on a second cursor, so the caller can keep
        writing on the catalog while it reads."""
        cur = self.con.cursor()
        return cur.sql(sql_text(name), params=params or {}).to_arrow_reader(batch_size)

    def relation(self, name: str, params: dict[str, Any] | None = None) -> duckdb.DuckDBPyRelation:
        """The named SELECT as a lazy DuckDB relation (filter, order, project it in the database)."""
        return self.con.sql(sql_text(name), params=params or {})

    @contextmanager
    def registered(self, **tables):
        """Arrow tables (or other DuckDB-scannable objects) visible to SQL under the given names for the block."""
        for name, tbl in tables.items():
            self.con.register(name, tbl)
        try:
            yield self
        finally:
            for name in tables:
                self.con.unregister(name)

    @contextmanager
    def transaction(self):
        """One transaction: committed when the block ends, rolled back if it raises."""
        self.con.execute("BEGIN")
        try:
            yield self
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def checkpoint(self) -> None:
        self.con.execute("CHECKPOINT").fetchall()

    def fetch(self, sql: str, params: dict[str, Any] | list | None = None) -> list[tuple]:
        """Ad-hoc SQL for tests and tools (product code uses named SQL files)."""
        return self.con.execute(sql, params or []).fetchall()

    def run_checks(self) -> dict[str, list[tuple]]:
        """Run sql/checks/*.sql; each returns the offending rows. Returns only failing checks."""
        failing = {}
        for fname, text in _files("checks"):
            rows = self.con.execute(text).fetchall()
            if rows:
                failing[fname.removesuffix(".sql")] = rows
        return failing

    def close(self) -> None:
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
