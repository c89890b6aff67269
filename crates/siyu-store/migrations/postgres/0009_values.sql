-- Customer value (cdp.md §5, issue "Segments, RFM, CLV"): the tenant's RFM configuration, each customer's
-- RFM scores and class with a log of runs (class counts and moves between classes), and the CLV model
-- (BG/NBD + Gamma-Gamma fits) with each customer's predictions. Results are caches recomputed from the
-- orders (nightly and on demand); the rules are siyu_domain::rfm's and siyu_domain::clv's.
-- PostgreSQL dialect: UUIDs, TIMESTAMPTZ, JSONB, BIGINT, DOUBLE PRECISION.

CREATE TABLE rfm_settings (
    tenant_id   UUID NOT NULL REFERENCES tenants (tenant_id),
    config      JSONB NOT NULL,
    updated_by  UUID,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id)
);

CREATE TABLE customer_rfm (
    tenant_id       UUID NOT NULL,
    customer_id     UUID NOT NULL,
    recency_days    BIGINT NOT NULL,
    frequency       BIGINT NOT NULL,
    monetary_fen    BIGINT NOT NULL,
    r               BIGINT NOT NULL,
    f               BIGINT NOT NULL,
    m               BIGINT NOT NULL,
    class           TEXT NOT NULL,
    layer           TEXT NOT NULL,
    super_user      BIGINT NOT NULL,
    config_version  BIGINT NOT NULL,
    computed_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_rfm_class ON customer_rfm (tenant_id, class);

CREATE TABLE rfm_runs (
    tenant_id  UUID NOT NULL,
    id         UUID NOT NULL,
    as_of      TIMESTAMPTZ NOT NULL,
    summary    JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE clv_models (
    tenant_id  UUID NOT NULL,
    id         UUID NOT NULL,
    fitted_at  TIMESTAMPTZ NOT NULL,
    model      JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE customer_clv (
    tenant_id           UUID NOT NULL,
    customer_id         UUID NOT NULL,
    frequency           BIGINT NOT NULL,
    recency             DOUBLE PRECISION NOT NULL,
    t                   DOUBLE PRECISION NOT NULL,
    monetary_fen        DOUBLE PRECISION NOT NULL,
    p_alive             DOUBLE PRECISION NOT NULL,
    expected_purchases  DOUBLE PRECISION NOT NULL,
    expected_spend_fen  BIGINT NOT NULL,
    clv_fen             BIGINT NOT NULL,
    computed_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_clv_value ON customer_clv (tenant_id, clv_fen DESC);
