-- Staff tasks made by hand and what they ask (call, send, follow up); and the WeCom app messages (应用消息,
-- reference/wecom.md §4.11) that tell staff about them. staff_notices holds one row per (task, staff member):
-- the unique dedupe key makes a notice exist once however often the sweep runs, and a row left 'sending' by a
-- crash is re-sent with WeCom's duplicate check on, so the staff member sees the message once.
-- And the periodic reconciliation: when each corp's last full sync finished (the next is due a configured
-- number of hours later), and 'reconcile' as who ended a relation (WeCom no longer has it, the callback
-- that said so was lost).
-- And wecom_tag_pushes: tag changes made in siyu (by hand, in bulk, by journeys) to tags linked to WeCom corp
-- tags, waiting to be marked on the customer's relations in WeCom (mark_tag, idempotent: at least once).
-- SQLite dialect.

ALTER TABLE staff_tasks ADD COLUMN kind TEXT NOT NULL DEFAULT 'follow_up';
ALTER TABLE staff_tasks ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE staff_tasks ADD COLUMN created_by BLOB;
CREATE INDEX staff_tasks_created ON staff_tasks (tenant_id, created_at);

CREATE TABLE staff_notices (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    corp_row_id  BLOB NOT NULL,
    userid       TEXT NOT NULL,
    user_id      BLOB NOT NULL,
    -- 'task:<task id>'.
    dedupe_key   TEXT NOT NULL,
    task_id      BLOB,
    -- The message/send body, fixed when the notice is made so a re-send is byte-identical.
    body         TEXT NOT NULL,
    -- 'pending', 'sending' (handed to WeCom, answer not recorded yet), 'sent', 'failed'.
    status       TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    claimed_at   TEXT,
    msgid        TEXT,
    error        TEXT,
    created_at   TEXT NOT NULL,
    sent_at      TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX staff_notices_once ON staff_notices (tenant_id, dedupe_key, userid);
CREATE INDEX staff_notices_status ON staff_notices (tenant_id, status, created_at);
CREATE INDEX staff_notices_task ON staff_notices (tenant_id, task_id);

ALTER TABLE wecom_corps ADD COLUMN synced_at TEXT;

CREATE TABLE follow_removals_new (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    user_id      BLOB NOT NULL,
    removed_by   TEXT NOT NULL CHECK (removed_by IN ('staff', 'customer', 'transfer', 'reconcile')),
    state        TEXT,
    added_at     TEXT,
    removed_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
INSERT INTO follow_removals_new (tenant_id, id, customer_id, user_id, removed_by, state, added_at, removed_at)
    SELECT tenant_id, id, customer_id, user_id, removed_by, state, added_at, removed_at FROM follow_removals;
DROP TABLE follow_removals;
ALTER TABLE follow_removals_new RENAME TO follow_removals;
CREATE INDEX follow_removals_customer ON follow_removals (tenant_id, customer_id, removed_at);
CREATE INDEX follow_removals_state ON follow_removals (tenant_id, state, removed_at);

CREATE TABLE wecom_tag_pushes (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    tag_id       BLOB NOT NULL,
    op           TEXT NOT NULL CHECK (op IN ('add', 'remove')),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX wecom_tag_pushes_customer ON wecom_tag_pushes (tenant_id, customer_id);
