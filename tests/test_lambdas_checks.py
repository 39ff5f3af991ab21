"""The example data checks (``lambdas.checks``), as the README's spec and nightly-sales call them."""

from __future__ import annotations

import doctest
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lambdas import checks


def orders(path: Path, *loaded: datetime) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE orders (day TEXT, loaded_at TEXT)")
        db.executemany("INSERT INTO orders VALUES (?, ?)", [(t.date().isoformat(), t.isoformat()) for t in loaded])


def test_docstring_examples() -> None:
    result = doctest.testmod(checks)
    assert result.attempted > 0 and result.failed == 0


def test_fresh_stale_empty_and_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "sales.db"
    monkeypatch.setenv("SALES_DB", str(db))
    with pytest.raises(RuntimeError, match=f"^no database at {db}$"):
        checks.freshness({}, None)
    orders(db)
    with pytest.raises(RuntimeError, match="^the orders table is empty$"):
        checks.freshness({}, None)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO orders VALUES ('2024-06-01', ?)", ((datetime.now(UTC) - timedelta(hours=30)).isoformat(),))
    with pytest.raises(RuntimeError, match=r"^newest load is 30\.0\d? h old \(limit 26\.0 h\)$"):
        checks.freshness({}, None)
    monkeypatch.setenv("MAX_AGE_HOURS", "48")
    assert checks.freshness({}, None)["newest_day"] == "2024-06-01"
