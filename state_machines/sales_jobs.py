"""The jobs of the nightly-sales example, on a small SQLite sales database.

Each command is what the Batch job's container runs on AWS and what the local Batch runs as a
process; the database path comes from ``SALES_DB`` (default ``data/sales.db`` in the working
directory), so the same code works in both places.

    python -m state_machines.sales_jobs load       # create the database if needed, add a day of orders
    python -m state_machines.sales_jobs optimize   # VACUUM, ANALYZE, integrity check
    python -m state_machines.sales_jobs report --weekly
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

PRODUCTS = (
    ("espresso beans 1kg", 24.90), ("filter papers", 3.50), ("grinder", 129.00),
    ("milk jug", 14.00), ("descaler", 9.90), ("travel mug", 19.50),
)
REGIONS = ("north", "south", "east", "west")


def database() -> Path:
    return Path(os.environ.get("SALES_DB", "data/sales.db"))


def connect() -> sqlite3.Connection:
    path = database()
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS orders (
            id INTEGER PRIMARY KEY,
            day TEXT NOT NULL,
            region TEXT NOT NULL,
            product TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            amount REAL NOT NULL,
            loaded_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS orders_day ON orders(day);
        """
    )
    return db


def load(days: int) -> dict[str, object]:
    """Add orders for the last ``days`` days that are missing (a first run backfills them)."""
    db = connect()
    today = date.today()
    loaded_days = {row[0] for row in db.execute("SELECT DISTINCT day FROM orders")}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    added = 0
    for back in range(days - 1, -1, -1):
        day = (today - timedelta(days=back)).isoformat()
        if day in loaded_days:
            continue
        rng = random.Random(day)  # the same day always gets the same orders
        rows = []
        for _ in range(rng.randint(150, 400)):
            product, price = rng.choice(PRODUCTS)
            quantity = rng.randint(1, 5)
            rows.append((day, rng.choice(REGIONS), product, quantity, round(price * quantity, 2), now))
        db.executemany(
            "INSERT INTO orders(day, region, product, quantity, amount, loaded_at) VALUES (?,?,?,?,?,?)", rows
        )
        added += len(rows)
    db.commit()
    total = db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    db.close()
    return {"added": added, "orders": total, "database": str(database())}


def optimize() -> dict[str, object]:
    """What ``vacuumdb --all`` does for PostgreSQL: reclaim space and refresh planner statistics."""
    path = database()
    if not path.exists():
        raise SystemExit(f"no database at {path}: run the 'load' job first")
    before = path.stat().st_size
    db = sqlite3.connect(path)
    check = db.execute("PRAGMA integrity_check").fetchone()[0]
    if check != "ok":
        raise SystemExit(f"integrity check failed: {check}")
    db.execute("VACUUM")
    db.execute("ANALYZE")
    db.close()
    return {"bytes_before": before, "bytes_after": path.stat().st_size, "integrity": check}


def report(weekly: bool, out_dir: Path) -> dict[str, object]:
    """Write the sales report for the last 7 days (or the last day) as Markdown."""
    db = connect()
    days = 7 if weekly else 1
    since = (date.today() - timedelta(days=days - 1)).isoformat()
    rows = db.execute(
        "SELECT region, COUNT(*), SUM(quantity), ROUND(SUM(amount), 2) FROM orders "
        "WHERE day >= ? GROUP BY region ORDER BY SUM(amount) DESC",
        (since,),
    ).fetchall()
    top = db.execute(
        "SELECT product, SUM(quantity) FROM orders WHERE day >= ? GROUP BY product "
        "ORDER BY SUM(quantity) DESC LIMIT 3",
        (since,),
    ).fetchall()
    db.close()
    if not rows:
        raise SystemExit(f"no orders since {since}: the load job has not run")
    out_dir.mkdir(parents=True, exist_ok=True)
    kind = "weekly" if weekly else "daily"
    path = out_dir / f"{kind}-sales-{date.today().isoformat()}.md"
    lines = [f"# {kind.title()} sales since {since}", "", "| region | orders | items | revenue |",
             "|---|---:|---:|---:|"]
    lines += [f"| {r} | {n} | {q} | {a:.2f} |" for r, n, q, a in rows]
    lines += ["", "Top products: " + ", ".join(f"{p} ({q})" for p, q in top), ""]
    path.write_text("\n".join(lines))
    revenue = round(sum(r[3] for r in rows), 2)
    return {"report": str(path), "revenue": revenue, "regions": len(rows)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sales_jobs", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="job", required=True)
    p = sub.add_parser("load")
    p.add_argument("--days", type=int, default=14)
    sub.add_parser("optimize")
    p = sub.add_parser("report")
    p.add_argument("--weekly", action="store_true")
    p.add_argument("--out", default="reports")
    args = parser.parse_args(argv)
    if args.job == "load":
        result = load(args.days)
    elif args.job == "optimize":
        result = optimize()
    else:
        result = report(args.weekly, Path(args.out))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
