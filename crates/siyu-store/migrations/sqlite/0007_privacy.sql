-- Privacy (PIPL): consent per customer and purpose with its append-only history, the privacy requests that
-- were carried out (access exports and erasures), and the erasure mark on customers.
-- SQLite dialect: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, JSON TEXT.
--
-- An erased customer keeps its row (placeholder name, no remark, avatar or custom values) so its orders and
-- aggregates still add up; erased_at says when. See crates/siyu-store/src/privacy/erasure.rs for what the
-- erasure deletes and anonymises in every other table.

ALTER TABLE customers ADD COLUMN erased_at TEXT;

-- The current consent; a purpose without a row is unknown. Goes with its customer on delete.
CREATE TABLE consents (
    tenant_id    BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    purpose      TEXT NOT NULL CHECK (purpose IN ('marketing', 'ad_audience')),
    status       TEXT NOT NULL CHECK (status IN ('granted', 'withdrawn', 'unknown')),
    source       TEXT NOT NULL CHECK (source IN ('console', 'api', 'import', 'event')),
    changed_by   BLOB,
    changed_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, purpose),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);

-- Append-only, and nothing personal beyond the customer id: kept after erasure as the proof of withdrawal.
CREATE TABLE consent_history (
    tenant_id    BLOB NOT NULL,
    id           BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    purpose      TEXT NOT NULL CHECK (purpose IN ('marketing', 'ad_audience')),
    from_status  TEXT NOT NULL CHECK (from_status IN ('granted', 'withdrawn', 'unknown')),
    to_status    TEXT NOT NULL CHECK (to_status IN ('granted', 'withdrawn', 'unknown')),
    source       TEXT NOT NULL CHECK (source IN ('console', 'api', 'import', 'event')),
    actor_id     BLOB,
    reason       TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX consent_history_customer ON consent_history (tenant_id, customer_id, at);
CREATE TRIGGER consent_history_append_only BEFORE UPDATE ON consent_history
BEGIN
    SELECT RAISE(ABORT, 'consent_history is append-only');
END;

-- Access and erasure requests carried out; detail holds counts (rows per table), never personal data.
CREATE TABLE privacy_requests (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('access', 'erasure')),
    actor_id     BLOB,
    actor_name   TEXT NOT NULL,
    at           TEXT NOT NULL,
    detail       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX privacy_requests_customer ON privacy_requests (tenant_id, customer_id, id);
