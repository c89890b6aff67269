#!/usr/bin/env python3
"""The peer of `siyu bench segment`: DuckDB counting the customers of one segment rule.

Loads customers.csv, customer_aggregates.csv and customer_tags.csv (written by the bench next to its SQLite
file, the same rows) into DuckDB tables in memory, makes the tables the statement joins that hold no rows in
the bench (query.json's empty_tables: tenant_id and customer_id), then runs the statement of query.json, the SQL text siyu
compiles for the rule with its `$n` placeholders and their values, once to warm up and `--runs` times more;
then the same for query.json's `hand_sql` if given: the rule written by hand the way a DuckDB user would
(plain joins, uncorrelated semi- and anti-joins), DuckDB at its best.
Prints one JSON object: versions, threads, load time, row counts, the count and each run's seconds (and the
same for the hand-written statement under `hand_`).

    pip install duckdb
    python benches/segment/duckdb_segment.py DIR DIR/query.json [--runs 5]
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid

TABLES = {
    "customers": {
        "tenant_id": "UUID", "id": "UUID", "name": "VARCHAR", "gender": "VARCHAR", "avatar_url": "VARCHAR",
        "remark": "VARCHAR", "source": "VARCHAR", "custom": "VARCHAR", "created_at": "VARCHAR",
        "updated_at": "VARCHAR", "last_active_at": "VARCHAR", "erased_at": "VARCHAR",
    },
    "customer_aggregates": {
        "tenant_id": "UUID", "customer_id": "UUID", "order_count": "BIGINT", "order_days": "BIGINT",
        "paid_fen": "BIGINT", "refund_fen": "BIGINT", "avg_paid_fen": "BIGINT", "first_order_at": "VARCHAR",
        "last_order_at": "VARCHAR", "event_count": "BIGINT", "first_seen_at": "VARCHAR",
        "last_active_at": "VARCHAR", "product_count": "BIGINT", "platforms": "VARCHAR", "products": "VARCHAR",
        "channels": "VARCHAR", "computed_at": "VARCHAR",
    },
    "customer_tags": {
        "tenant_id": "UUID", "customer_id": "UUID", "tag_id": "UUID", "added_by": "UUID", "added_at": "VARCHAR",
    },
}


def value(v):
    """A bound value from query.json: {"uuid": "..."}, {"float": 1.0}, {"text": "..."}."""
    if "uuid" in v:
        return uuid.UUID(v["uuid"])
    if "float" in v:
        return float(v["float"])
    return v["text"]


def timed(con, sql, params, n):
    """Runs `sql` once to warm up and `n` times more: (count, seconds of each run), count None on a change."""
    count = con.execute(sql, params).fetchone()[0]
    runs = []
    for _ in range(n):
        started = time.perf_counter()
        again = con.execute(sql, params).fetchone()[0]
        runs.append(time.perf_counter() - started)
        if again != count:
            print(f"the count changed between runs: {count} then {again}", file=sys.stderr)
            return None, runs
    return count, runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="folder holding the three CSV files")
    parser.add_argument("query", help="JSON file: {sql, params}")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import duckdb

    con = duckdb.connect()
    started = time.perf_counter()
    rows = {}
    for table, columns in TABLES.items():
        path = os.path.join(args.dir, f"{table}.csv")
        con.execute(
            f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, header = true, quote = '\"', escape = '\"', "
            f"columns = {columns!r})",
            [path],
        )
        rows[table] = con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    load_s = time.perf_counter() - started

    with open(args.query, encoding="utf-8") as f:
        query = json.load(f)
    # Tables the statement joins that hold no rows in the bench (their keys are all it reads).
    for table in query.get("empty_tables", []):
        con.execute(f"CREATE TABLE {table} (tenant_id UUID, customer_id UUID)")
    params = [value(v) for v in query["params"]]
    count, runs = timed(con, query["sql"], params, args.runs)
    if count is None:
        return 1
    hand = {}
    if query.get("hand_sql"):
        hand_count, hand_runs = timed(con, query["hand_sql"], params, args.runs)
        if hand_count is None:
            return 1
        hand = {
            "hand_count": int(hand_count),
            "hand_runs": hand_runs,
            "hand_best_s": min(hand_runs),
            "hand_median_s": statistics.median(hand_runs),
        }

    print(json.dumps({
        "duckdb": duckdb.__version__,
        "python": platform.python_version(),
        "threads": int(con.execute("SELECT current_setting('threads')").fetchone()[0]),
        "load_s": load_s,
        "rows": rows,
        "count": int(count),
        "runs": runs,
        "best_s": min(runs),
        "median_s": statistics.median(runs),
        **hand,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
