-- Customer aggregates (cdp.md §3): one row per customer, what their orders and resolved events add up to,
-- recomputed from them whenever they change (an order import batch, a mall order, identity resolution, a
-- merge or un-merge) and rebuilt in full by `siyu admin rebuild-aggregates`. A cache: the orders and events
-- are the truth. The rules are siyu_domain::aggregate's.
-- PostgreSQL dialect: money BIGINT fen, lists JSONB.
--
-- The figures segments filter on are plain columns; the lists (platforms, products with counts, last
-- activity per channel) are JSON. A customer without a row gets one when first read. A refresh
-- first writes the row (INSERT ... ON CONFLICT DO NOTHING) and locks it (FOR UPDATE), so concurrent
-- refreshes of one customer queue behind each other and the last one sees every committed order and event.

CREATE TABLE customer_aggregates (
    tenant_id       UUID NOT NULL,
    customer_id     UUID NOT NULL,
    order_count     BIGINT NOT NULL DEFAULT 0,
    order_days      BIGINT NOT NULL DEFAULT 0,
    paid_fen        BIGINT NOT NULL DEFAULT 0,
    refund_fen      BIGINT NOT NULL DEFAULT 0,
    avg_paid_fen    BIGINT NOT NULL DEFAULT 0,
    first_order_at  TIMESTAMPTZ,
    last_order_at   TIMESTAMPTZ,
    event_count     BIGINT NOT NULL DEFAULT 0,
    first_seen_at   TIMESTAMPTZ NOT NULL,
    last_active_at  TIMESTAMPTZ,
    product_count   BIGINT NOT NULL DEFAULT 0,
    platforms       JSONB NOT NULL DEFAULT '[]',
    products        JSONB NOT NULL DEFAULT '[]',
    channels        JSONB NOT NULL DEFAULT '[]',
    computed_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_aggregates_last_order ON customer_aggregates (tenant_id, last_order_at);
CREATE INDEX customer_aggregates_paid ON customer_aggregates (tenant_id, paid_fen);
