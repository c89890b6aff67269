-- Group tags (群标签: local labels, many-to-many with customer groups) and group SOP calendars: templates of
-- timed steps (a flash-sale group's day N after it opens, or a daily-sales group's weekdays) applied to a
-- group (customer_groups.sop_id). The runner turns each due step occurrence into a group mass send to that
-- one group; group_sop_runs is keyed by (group, step, occurrence date), written in the transaction that makes
-- the mass send and its job, so a sweep that runs twice or dies halfway sends each occurrence once.
-- SQLite dialect.

CREATE TABLE group_tags (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    name         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX group_tags_name ON group_tags (tenant_id, name);

CREATE TABLE group_tag_links (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    group_id     BLOB NOT NULL,
    tag_id       BLOB NOT NULL,
    PRIMARY KEY (tenant_id, group_id, tag_id)
);
CREATE INDEX group_tag_links_tag ON group_tag_links (tenant_id, tag_id);

CREATE TABLE group_sops (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('daily', 'flash')),
    -- JSON: [{id, day, weekdays, time, text, attachments}].
    steps        TEXT NOT NULL,
    created_by   BLOB,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

ALTER TABLE customer_groups ADD COLUMN sop_id BLOB;
ALTER TABLE customer_groups ADD COLUMN sop_applied_at TEXT;
CREATE INDEX customer_groups_sop ON customer_groups (tenant_id, sop_id);

CREATE TABLE group_sop_runs (
    tenant_id     BLOB NOT NULL REFERENCES tenants (tenant_id),
    group_id      BLOB NOT NULL,
    step_id       TEXT NOT NULL,
    occurs_on     TEXT NOT NULL,
    sop_id        BLOB NOT NULL,
    scheduled_at  TEXT NOT NULL,
    -- 'sent' (a mass send was made) or 'skipped' (why in reason).
    status        TEXT NOT NULL CHECK (status IN ('sent', 'skipped')),
    reason        TEXT,
    mass_send_id  BLOB,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, step_id, occurs_on)
);
CREATE INDEX group_sop_runs_send ON group_sop_runs (tenant_id, mass_send_id);
