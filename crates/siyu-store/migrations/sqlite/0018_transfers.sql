-- Customer inheritance (在职/离职继承, reference/wecom.md §4.8): a batch hands one staff member's customers
-- and/or groups to another, while they are employed (on-job, with the notice the customers see) or after they
-- left (resigned). Each customer or group is an item; items are sent to WeCom in calls of at most 100, then
-- followed through `transfer_result` (and `transfer_fail` callbacks) until they are taken over, refused or
-- failed. `transfer_ledger` records every on-job customer transfer WeCom accepted, so the third transfer of a
-- customer within 90 days is refused locally (`limited`) before WeCom is called.
-- SQLite dialect.

CREATE TABLE transfer_batches (
    tenant_id        BLOB NOT NULL REFERENCES tenants (tenant_id),
    id               BLOB NOT NULL,
    corp_row_id      BLOB NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('on_job', 'resigned')),
    handover_userid  TEXT NOT NULL,
    takeover_userid  TEXT NOT NULL,
    -- transfer_success_msg, ≤200 characters (on-job only).
    message          TEXT,
    status           TEXT NOT NULL CHECK (status IN ('sending', 'waiting', 'done', 'failed')),
    -- The caller's key: creating a batch twice with one key returns the first.
    client_key       TEXT,
    job_id           BLOB,
    error            TEXT,
    created_by       BLOB,
    created_at       TEXT NOT NULL,
    finished_at      TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX transfer_batches_created ON transfer_batches (tenant_id, created_at);
CREATE UNIQUE INDEX transfer_batches_key ON transfer_batches (tenant_id, client_key);

CREATE TABLE transfer_items (
    tenant_id     BLOB NOT NULL,
    batch_id      BLOB NOT NULL,
    item_kind     TEXT NOT NULL CHECK (item_kind IN ('customer', 'group')),
    -- external_userid or chat_id.
    target        TEXT NOT NULL,
    corp_row_id   BLOB NOT NULL,
    customer_id   BLOB,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'waiting', 'success', 'refused', 'failed',
                                                  'limited', 'skipped')),
    wecom_status  INTEGER,
    errcode       INTEGER,
    reason        TEXT,
    takeover_at   TEXT,
    sent_at       TEXT,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, batch_id, item_kind, target)
);
-- Callbacks and previews find a customer's open items.
CREATE INDEX transfer_items_target ON transfer_items (tenant_id, corp_row_id, item_kind, target, status);

CREATE TABLE transfer_ledger (
    tenant_id        BLOB NOT NULL,
    corp_row_id      BLOB NOT NULL,
    external_userid  TEXT NOT NULL,
    batch_id         BLOB NOT NULL,
    handover_userid  TEXT NOT NULL,
    takeover_userid  TEXT NOT NULL,
    accepted_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, corp_row_id, external_userid, batch_id)
);
