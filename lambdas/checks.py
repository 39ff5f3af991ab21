"""Data checks as Lambda handlers: a check returns what it found, or raises to fail its task.

    >>> import os, sqlite3, tempfile
    >>> from datetime import UTC, datetime
    >>> os.environ["SALES_DB"] = db = os.path.join(tempfile.mkdtemp(), "sales.db")
    >>> with sqlite3.connect(db) as conn:
    ...     _ = conn.execute("CREATE TABLE orders (day TEXT, loaded_at TEXT)")
    ...     _ = conn.execute("INSERT INTO orders VALUES ('2024-06-01', ?)", (datetime.now(UTC).isoformat(),))
    >>> freshness({}, None)["fresh"]
    True
    >>> _ = os.environ.pop("SALES_DB")
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAX_AGE_HOURS = 26.0  # a nightly load, with two hours' slack


def freshness(event: Any, context: Any) -> dict[str, object]:
    """Fail when the newest load of the sales database (``SALES_DB``, default ``data/sales.db``) is
    older than ``MAX_AGE_HOURS`` (environment; default 26): a stale report is worse than none."""
    path = Path(os.environ.get("SALES_DB", "data/sales.db"))
    max_age_hours = float(os.environ.get("MAX_AGE_HOURS", MAX_AGE_HOURS))
    if not path.exists():
        raise RuntimeError(f"no database at {path}")
    db = sqlite3.connect(path)
    try:
        newest = db.execute("SELECT MAX(loaded_at), MAX(day) FROM orders").fetchone()
    finally:
        db.close()
    if newest[0] is None:
        raise RuntimeError("the orders table is empty")
    age = datetime.now(UTC) - datetime.fromisoformat(newest[0])
    hours = round(age.total_seconds() / 3600, 2)
    if hours > max_age_hours:
        raise RuntimeError(f"newest load is {hours} h old (limit {max_age_hours} h)")
    return {"fresh": True, "newest_day": newest[1], "age_hours": hours}
