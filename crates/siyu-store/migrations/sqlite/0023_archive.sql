-- The session archive (会话内容存档, reference/wecom.md §7) and the rules auditors set over it.
-- archive_cursors: per corp, the highest seq forwarded (the sidecar pulls from there) and when.
-- archive_conversations: one row per 1:1 chat (staff × customer), group chat (roomid) or internal chat;
--   awaiting_* holds the oldest customer message of a 1:1 chat still waiting for a staff reply.
-- archive_messages: one row per (corp, msgid) — the ingest is idempotent on it.
-- word_lists / word_list_words: a tenant's sensitive-word lists.
-- archive_rules: sensitive words, sensitive behaviours, group anti-harassment; config is JSON.
-- archive_alerts: one row per (rule, thing that broke it); the unique dedupe key makes an alert exist once
--   however often a message is re-sent or the sweep re-runs.
-- archive_digests: the daily summary of a tenant's alerts (one per local day).
-- tenant_words: the tenant's user dictionary for segmentation.
-- SQLite dialect.

CREATE TABLE archive_cursors (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    corp_row_id  BLOB NOT NULL,
    max_seq      INTEGER NOT NULL DEFAULT 0,
    messages     INTEGER NOT NULL DEFAULT 0,
    last_msg_at  TEXT,
    ingested_at  TEXT,
    notified_at  TEXT,
    PRIMARY KEY (tenant_id, corp_row_id)
);

CREATE TABLE archive_conversations (
    tenant_id       BLOB NOT NULL REFERENCES tenants (tenant_id),
    id              BLOB NOT NULL,
    corp_row_id     BLOB NOT NULL,
    conv_key        TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('single', 'group', 'internal')),
    staff_userid    TEXT,
    external_userid TEXT,
    roomid          TEXT,
    customer_id     BLOB,
    group_id        BLOB,
    messages        INTEGER NOT NULL DEFAULT 0,
    first_msg_at    TEXT NOT NULL,
    last_msg_at     TEXT NOT NULL,
    awaiting_since  TEXT,
    awaiting_msgid  TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX archive_conversations_key ON archive_conversations (tenant_id, corp_row_id, conv_key);
CREATE INDEX archive_conversations_recent ON archive_conversations (tenant_id, last_msg_at);
CREATE INDEX archive_conversations_customer ON archive_conversations (tenant_id, customer_id);
CREATE INDEX archive_conversations_awaiting ON archive_conversations (tenant_id, awaiting_since);

CREATE TABLE archive_messages (
    tenant_id       BLOB NOT NULL REFERENCES tenants (tenant_id),
    id              BLOB NOT NULL,
    corp_row_id     BLOB NOT NULL,
    conversation_id BLOB,
    msgid           TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    action          TEXT NOT NULL,
    msgtype         TEXT NOT NULL,
    sender          TEXT NOT NULL,
    sender_party    TEXT NOT NULL CHECK (sender_party IN ('staff', 'customer', 'robot')),
    msgtime         TEXT NOT NULL,
    body            TEXT NOT NULL DEFAULT '',
    payload         TEXT NOT NULL,
    recalled        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX archive_messages_once ON archive_messages (tenant_id, corp_row_id, msgid);
CREATE INDEX archive_messages_conversation ON archive_messages (tenant_id, conversation_id, msgtime);
CREATE INDEX archive_messages_time ON archive_messages (tenant_id, msgtime);

CREATE TABLE word_lists (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX word_lists_name ON word_lists (tenant_id, name);

CREATE TABLE word_list_words (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    list_id      BLOB NOT NULL,
    word         TEXT NOT NULL,
    strict       INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, list_id, word)
);

CREATE TABLE archive_rules (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    enabled      INTEGER NOT NULL DEFAULT 1,
    config       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE archive_alerts (
    tenant_id       BLOB NOT NULL REFERENCES tenants (tenant_id),
    id              BLOB NOT NULL,
    rule_id         BLOB NOT NULL,
    kind            TEXT NOT NULL,
    dedupe_key      TEXT NOT NULL,
    corp_row_id     BLOB,
    conversation_id BLOB,
    msgid           TEXT,
    staff_userid    TEXT,
    customer_id     BLOB,
    group_id        BLOB,
    detail          TEXT NOT NULL DEFAULT '',
    excerpt         TEXT NOT NULL DEFAULT '',
    occurred_at     TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'dismissed')),
    handled_by      BLOB,
    handled_at      TEXT,
    note            TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX archive_alerts_once ON archive_alerts (tenant_id, dedupe_key);
CREATE INDEX archive_alerts_inbox ON archive_alerts (tenant_id, status, occurred_at);
CREATE INDEX archive_alerts_time ON archive_alerts (tenant_id, occurred_at);
CREATE INDEX archive_alerts_conversation ON archive_alerts (tenant_id, conversation_id);
CREATE INDEX archive_alerts_customer ON archive_alerts (tenant_id, customer_id);

CREATE TABLE archive_digests (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    day          TEXT NOT NULL,
    alerts       INTEGER NOT NULL,
    summary      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, day)
);

-- The tenant's own dictionary: brand and product words that stay one token in search and in the
-- sensitive-word check (企业微信, a product line).
CREATE TABLE tenant_words (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    word         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, word)
);

-- Joins and leaves of group members as WeCom's callbacks reported them (MemChangeList), one row per member
-- and event: the group sync records differences of the member list, which hides a member who joined and
-- left between two reads; the join-and-leave flood rule reads these instead.
CREATE TABLE group_join_leaves (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    corp_row_id  BLOB NOT NULL,
    chat_id      TEXT NOT NULL,
    member_key   TEXT NOT NULL,
    op           TEXT NOT NULL CHECK (op IN ('join', 'leave')),
    at           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, corp_row_id, chat_id, member_key, op, at)
);
CREATE INDEX group_join_leaves_time ON group_join_leaves (tenant_id, at);
