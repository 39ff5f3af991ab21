"""The jobs of the etl-fanout example: per-region order events, cleaned, converted to EUR,
loaded into a SQLite warehouse and checked. Batch jobs are ``python3 -m state_machines.etl_jobs
<job>``; the short steps are Lambda handlers in this module. Files live under ``ETL_DIR``
(default ``data/etl``)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sqlite3
import sys
import tarfile
from datetime import date
from pathlib import Path
from typing import Any

REGIONS = ("north", "south", "east", "west")
CURRENCY = {"north": "NOK", "south": "EUR", "east": "PLN", "west": "USD"}


def root() -> Path:
    path = Path(os.environ.get("ETL_DIR", "data/etl"))
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- Lambda handlers (event, context) ---------------------------------------------------------
def fetch_rates(event: Any, context: Any) -> dict[str, Any]:
    """Today's conversion rates to EUR (fixed table: the example must run offline)."""
    rates = {"EUR": 1.0, "NOK": 0.086, "PLN": 0.23, "USD": 0.92}
    (root() / "rates.json").write_text(json.dumps(rates))
    return {"currencies": len(rates)}


def clean(event: Any, context: Any) -> dict[str, Any]:
    """Drop malformed rows of one region (``REGION``) and convert amounts to EUR."""
    region = os.environ["REGION"]
    rates = json.loads((root() / "rates.json").read_text())
    rate = rates[CURRENCY[region]]
    kept = dropped = 0
    with open(root() / f"raw-{region}.csv", newline="") as src, \
            open(root() / f"clean-{region}.csv", "w", newline="") as dst:
        writer = csv.writer(dst)
        for row in csv.DictReader(src):
            try:
                amount = float(row["amount"])
                quantity = int(row["quantity"])
            except ValueError:
                dropped += 1
                continue
            if quantity <= 0 or not row["customer"]:
                dropped += 1
                continue
            writer.writerow([row["order_id"], region, row["customer"], quantity, round(amount * rate, 2)])
            kept += 1
    return {"region": region, "kept": kept, "dropped": dropped}


def quality_checks(event: Any, context: Any) -> dict[str, Any]:
    """Fail the run when the warehouse is empty, has negative revenue or an unknown customer."""
    db = sqlite3.connect(root() / "warehouse.db")
    orders = db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    negative = db.execute("SELECT COUNT(*) FROM orders WHERE amount_eur < 0").fetchone()[0]
    orphans = db.execute(
        "SELECT COUNT(*) FROM orders o LEFT JOIN customers c ON o.customer = c.id WHERE c.id IS NULL"
    ).fetchone()[0]
    db.close()
    problems = []
    if orders == 0:
        problems.append("no orders loaded")
    if negative:
        problems.append(f"{negative} orders with negative amounts")
    if orphans:
        problems.append(f"{orphans} orders of unknown customers")
    if problems:
        raise ValueError("; ".join(problems))
    return {"orders": orders, "checks": 3}


# -- Batch jobs --------------------------------------------------------------------------------
def extract(region: str, rows: int) -> dict[str, Any]:
    rng = random.Random(f"{region}-{date.today().isoformat()}")
    path = root() / f"raw-{region}.csv"
    with open(path, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["order_id", "customer", "quantity", "amount"])
        for i in range(rows):
            customer = f"c{rng.randint(1, 60):03d}"
            quantity = rng.choice([1, 1, 2, 3, 0]) if rng.random() > 0.01 else "x"
            writer.writerow([f"{region}-{i}", customer, quantity, f"{rng.uniform(5, 500):.2f}"])
    return {"region": region, "rows": rows, "file": str(path)}


def dimensions() -> dict[str, Any]:
    """Build the customer dimension from the raw files of the regions that carry customer data."""
    customers: set[str] = set()
    for region in ("north", "south"):
        with open(root() / f"raw-{region}.csv", newline="") as src:
            customers.update(row["customer"] for row in csv.DictReader(src) if row["customer"])
    customers.update(f"c{i:03d}" for i in range(1, 61))
    (root() / "customers.json").write_text(json.dumps(sorted(customers)))
    return {"customers": len(customers)}


def load_warehouse() -> dict[str, Any]:
    db = sqlite3.connect(root() / "warehouse.db")
    db.executescript(
        """
        DROP TABLE IF EXISTS orders; DROP TABLE IF EXISTS customers;
        CREATE TABLE customers(id TEXT PRIMARY KEY);
        CREATE TABLE orders(id TEXT PRIMARY KEY, region TEXT, customer TEXT, quantity INT, amount_eur REAL);
        """
    )
    db.executemany("INSERT INTO customers VALUES (?)",
                   [(c,) for c in json.loads((root() / "customers.json").read_text())])
    loaded = 0
    for region in REGIONS:
        with open(root() / f"clean-{region}.csv", newline="") as src:
            rows = list(csv.reader(src))
        db.executemany("INSERT INTO orders VALUES (?,?,?,?,?)", rows)
        loaded += len(rows)
    db.commit()
    db.close()
    return {"orders": loaded}


def publish() -> dict[str, Any]:
    db = sqlite3.connect(root() / "warehouse.db")
    rows = db.execute(
        "SELECT region, COUNT(*), ROUND(SUM(amount_eur), 2) FROM orders GROUP BY region ORDER BY region"
    ).fetchall()
    db.close()
    path = root() / "dashboard.json"
    path.write_text(json.dumps([{"region": r, "orders": n, "revenue_eur": a} for r, n, a in rows], indent=2))
    return {"dashboard": str(path), "regions": len(rows)}


def archive() -> dict[str, Any]:
    path = root() / f"raw-{date.today().isoformat()}.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for region in REGIONS:
            tar.add(root() / f"raw-{region}.csv", arcname=f"raw-{region}.csv")
    return {"archive": str(path), "bytes": path.stat().st_size}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="etl_jobs")
    sub = parser.add_subparsers(dest="job", required=True)
    p = sub.add_parser("extract")
    p.add_argument("--region", choices=REGIONS, required=True)
    p.add_argument("--rows", type=int, default=2000)
    for name in ("dimensions", "load", "publish", "archive"):
        sub.add_parser(name)
    args = parser.parse_args(argv)
    jobs = {"dimensions": dimensions, "load": load_warehouse, "publish": publish, "archive": archive}
    result = extract(args.region, args.rows) if args.job == "extract" else jobs[args.job]()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
