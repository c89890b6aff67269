-- Customer aggregates (cdp.md §3): one row per customer, what their orders and resolved events add up to,
-- recomputed from them whenever they change (an order import batch, a mall order, identity resolution, a
-- merge or un-merge) and rebuilt in full by `siyu admin rebuild-aggregates`. A cache: the orders and events
-- are the truth. The rules are siyu_domain::aggregate's.
-- SQLite dialect: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, JSON TEXT, money INTEGER fen.
--
-- The figures segments filter on are plain columns; the lists (platforms, products with counts, last
-- activity per channel) are JSON. A customer without a row gets one when first read. A refresh
-- first writes the row (INSERT ... ON CONFLICT DO NOTHING) so concurrent refreshes of one customer queue
-- behind each other and the last one sees every committed order and event.

CREATE TABLE customer_aggregates (
    tenant_id       BLOB NOT NULL,
    customer_id     BLOB NOT NULL,
    order_count     INTEGER NOT NULL DEFAULT 0,
    order_days      INTEGER NOT NULL DEFAULT 0,
    paid_fen        INTEGER NOT NULL DEFAULT 0,
    refund_fen      INTEGER NOT NULL DEFAULT 0,
    avg_paid_fen    INTEGER NOT NULL DEFAULT 0,
    first_order_at  TEXT,
    last_order_at   TEXT,
    event_count     INTEGER NOT NULL DEFAULT 0,
    first_seen_at   TEXT NOT NULL,
    last_active_at  TEXT,
    product_count   INTEGER NOT NULL DEFAULT 0,
    platforms       TEXT NOT NULL DEFAULT '[]',
    products        TEXT NOT NULL DEFAULT '[]',
    channels        TEXT NOT NULL DEFAULT '[]',
    computed_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_aggregates_last_order ON customer_aggregates (tenant_id, last_order_at);
CREATE INDEX customer_aggregates_paid ON customer_aggregates (tenant_id, paid_fen);
