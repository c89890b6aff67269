-- Journeys (reference/journeys.md §4–5): a journey and its published versions (the graph instances pin), one
-- durable row per customer's run (`journey_instances`, the only timer is `next_run_at`), the step ledger
-- (one row per entry and node: a replayed step finds its row and does nothing twice) and the outbox (one row
-- per effect under its dedupe key, what dispatchers deliver).
-- SQLite dialect: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, JSON TEXT.
--
-- Claims: a worker bumps `lease_epoch` and sets `lease_until` on the due rows it takes; its writes check the
-- epoch, so a slow worker whose lease ran out cannot overwrite the one that took over.

CREATE TABLE journeys (
    tenant_id     BLOB NOT NULL REFERENCES tenants (tenant_id),
    id            BLOB NOT NULL,
    name          TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('draft', 'live', 'paused', 'archived')),
    draft         TEXT NOT NULL,
    live_version  INTEGER,
    created_by    BLOB,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX journeys_name ON journeys (tenant_id, name);

CREATE TABLE journey_versions (
    tenant_id     BLOB NOT NULL,
    journey_id    BLOB NOT NULL,
    version       INTEGER NOT NULL,
    graph         TEXT NOT NULL,
    published_by  BLOB,
    published_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, journey_id, version),
    FOREIGN KEY (tenant_id, journey_id) REFERENCES journeys (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE journey_instances (
    tenant_id        BLOB NOT NULL,
    journey_id       BLOB NOT NULL,
    customer_id      BLOB NOT NULL,
    entry_seq        INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    node             TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('running', 'waiting_time', 'waiting_event', 'done', 'exited')),
    next_run_at      TEXT,
    wait_event       TEXT,
    -- The event that woke a waiting instance, consumed by its next step.
    resume_event     TEXT,
    bucket           INTEGER NOT NULL,
    entered_at       TEXT NOT NULL,
    node_entered_at  TEXT NOT NULL,
    defer_count      INTEGER NOT NULL DEFAULT 0,
    exit_reason      TEXT,
    held_out         INTEGER NOT NULL,
    lease_epoch      INTEGER NOT NULL DEFAULT 0,
    lease_until      TEXT,
    updated_at       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, journey_id, customer_id, entry_seq),
    FOREIGN KEY (tenant_id, journey_id) REFERENCES journeys (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
-- At most one live run per journey and customer.
CREATE UNIQUE INDEX journey_instances_live ON journey_instances (tenant_id, journey_id, customer_id)
    WHERE status IN ('running', 'waiting_time', 'waiting_event');
-- Due runs, by bucket, so claims do not all race for the head of one index.
CREATE INDEX journey_instances_due ON journey_instances (tenant_id, bucket, next_run_at)
    WHERE status IN ('running', 'waiting_time', 'waiting_event');
-- Runs waiting for one of a customer's events.
CREATE INDEX journey_instances_waiting ON journey_instances (tenant_id, customer_id, wait_event)
    WHERE status = 'waiting_event';

CREATE TABLE journey_steps (
    tenant_id    BLOB NOT NULL,
    journey_id   BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    entry_seq    INTEGER NOT NULL,
    node         TEXT NOT NULL,
    outcome      TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, journey_id, customer_id, entry_seq, node)
);

CREATE TABLE outbox (
    tenant_id        BLOB NOT NULL,
    id               BLOB NOT NULL,
    dedupe_key       TEXT NOT NULL,
    journey_id       BLOB NOT NULL,
    customer_id      BLOB NOT NULL,
    node             TEXT NOT NULL,
    -- The channel of a send (frequency caps count by it); NULL for other actions.
    channel          TEXT,
    action           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'unknown', 'withheld', 'skipped')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    sent_at          TEXT,
    result           TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX outbox_dedupe ON outbox (tenant_id, dedupe_key);
CREATE INDEX outbox_due ON outbox (tenant_id, status, next_attempt_at);
CREATE INDEX outbox_customer ON outbox (tenant_id, customer_id, created_at);

-- The sandbox channel: what would have been sent, one row per delivered outbox row (its dedupe key), shown in
-- the console as the customer's chat.
CREATE TABLE sandbox_messages (
    tenant_id    BLOB NOT NULL,
    id           BLOB NOT NULL,
    dedupe_key   TEXT NOT NULL,
    customer_id  BLOB NOT NULL,
    channel      TEXT NOT NULL,
    body         TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX sandbox_messages_dedupe ON sandbox_messages (tenant_id, dedupe_key);
CREATE INDEX sandbox_messages_customer ON sandbox_messages (tenant_id, customer_id, at);
