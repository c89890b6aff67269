-- Customer value (cdp.md §5, issue "Segments, RFM, CLV"): the tenant's RFM configuration, each customer's
-- RFM scores and class with a log of runs (class counts and moves between classes), and the CLV model
-- (BG/NBD + Gamma-Gamma fits) with each customer's predictions. Results are caches recomputed from the
-- orders (nightly and on demand); the rules are siyu_domain::rfm's and siyu_domain::clv's.
-- SQLite dialect: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, JSON TEXT.

CREATE TABLE rfm_settings (
    tenant_id   BLOB NOT NULL REFERENCES tenants (tenant_id),
    config      TEXT NOT NULL,
    updated_by  BLOB,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id)
);

CREATE TABLE customer_rfm (
    tenant_id       BLOB NOT NULL,
    customer_id     BLOB NOT NULL,
    recency_days    INTEGER NOT NULL,
    frequency       INTEGER NOT NULL,
    monetary_fen    INTEGER NOT NULL,
    r               INTEGER NOT NULL,
    f               INTEGER NOT NULL,
    m               INTEGER NOT NULL,
    class           TEXT NOT NULL,
    layer           TEXT NOT NULL,
    super_user      INTEGER NOT NULL,
    config_version  INTEGER NOT NULL,
    computed_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_rfm_class ON customer_rfm (tenant_id, class);

CREATE TABLE rfm_runs (
    tenant_id  BLOB NOT NULL,
    id         BLOB NOT NULL,
    as_of      TEXT NOT NULL,
    summary    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE clv_models (
    tenant_id  BLOB NOT NULL,
    id         BLOB NOT NULL,
    fitted_at  TEXT NOT NULL,
    model      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE customer_clv (
    tenant_id           BLOB NOT NULL,
    customer_id         BLOB NOT NULL,
    frequency           INTEGER NOT NULL,
    recency             REAL NOT NULL,
    t                   REAL NOT NULL,
    monetary_fen        REAL NOT NULL,
    p_alive             REAL NOT NULL,
    expected_purchases  REAL NOT NULL,
    expected_spend_fen  INTEGER NOT NULL,
    clv_fen             INTEGER NOT NULL,
    computed_at         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_clv_value ON customer_clv (tenant_id, clv_fen DESC);
