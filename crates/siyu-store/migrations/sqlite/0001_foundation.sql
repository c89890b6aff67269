-- Foundation: tenants, accounts and members, sessions, tokens, audit, customers and their satellites.
-- SQLite dialect: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, JSON TEXT, booleans INTEGER.
-- Rule: every tenant-owned table has tenant_id first in its primary key and in every index.
-- Platform tables (accounts, sessions, login_throttle) have no tenant: they are Citus reference tables.

CREATE TABLE tenants (
    tenant_id   BLOB PRIMARY KEY,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    timezone    TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    data_key    BLOB NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE accounts (
    user_id         BLOB PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    platform_admin  INTEGER NOT NULL DEFAULT 0,
    locale          TEXT NOT NULL DEFAULT 'zh-CN',
    status          TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at      TEXT NOT NULL
);

CREATE TABLE departments (
    tenant_id   BLOB NOT NULL REFERENCES tenants (tenant_id),
    id          BLOB NOT NULL,
    parent_id   BLOB,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE members (
    tenant_id      BLOB NOT NULL REFERENCES tenants (tenant_id),
    user_id        BLOB NOT NULL REFERENCES accounts (user_id),
    role           TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'staff', 'auditor')),
    scope          TEXT NOT NULL CHECK (scope IN ('all', 'department', 'self')),
    department_id  BLOB,
    status         TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX members_department ON members (tenant_id, department_id);

CREATE TABLE sessions (
    id_hash       BLOB PRIMARY KEY,
    user_id       BLOB NOT NULL REFERENCES accounts (user_id),
    tenant_id     BLOB,
    csrf_token    TEXT NOT NULL,
    ip            TEXT,
    user_agent    TEXT,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    window_start  TEXT NOT NULL
);

CREATE TABLE api_tokens (
    tenant_id     BLOB NOT NULL REFERENCES tenants (tenant_id),
    id            BLOB NOT NULL,
    name          TEXT NOT NULL,
    token_hash    BLOB NOT NULL,
    prefix        TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    created_by    BLOB NOT NULL,
    created_at    TEXT NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (tenant_id, token_hash);

CREATE TABLE audit_log (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    at           TEXT NOT NULL,
    actor_id     BLOB,
    actor_name   TEXT NOT NULL,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT,
    ip           TEXT,
    user_agent   TEXT,
    detail       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_action ON audit_log (tenant_id, action, id);

CREATE TABLE customers (
    tenant_id       BLOB NOT NULL REFERENCES tenants (tenant_id),
    id              BLOB NOT NULL,
    name            TEXT NOT NULL,
    gender          TEXT NOT NULL CHECK (gender IN ('unknown', 'male', 'female')),
    avatar_url      TEXT,
    remark          TEXT,
    source          TEXT NOT NULL,
    custom          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_active_at  TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX customers_created ON customers (tenant_id, created_at DESC, id DESC);
CREATE INDEX customers_active ON customers (tenant_id, last_active_at);
CREATE INDEX customers_name ON customers (tenant_id, name);

CREATE TABLE identities (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    kind         TEXT NOT NULL,
    namespace    TEXT NOT NULL,
    lookup       TEXT NOT NULL,
    value_enc    BLOB,
    display      TEXT NOT NULL,
    source       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX identities_lookup ON identities (tenant_id, kind, namespace, lookup);
CREATE INDEX identities_customer ON identities (tenant_id, customer_id);

CREATE TABLE follows (
    tenant_id    BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    user_id      BLOB NOT NULL,
    remark       TEXT,
    description  TEXT,
    add_way      TEXT NOT NULL,
    state        TEXT,
    added_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, user_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX follows_user ON follows (tenant_id, user_id, customer_id);

CREATE TABLE tag_groups (
    tenant_id   BLOB NOT NULL REFERENCES tenants (tenant_id),
    id          BLOB NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('enterprise', 'personal')),
    owner_id    BLOB,
    exclusive   INTEGER NOT NULL,
    sort        INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE tags (
    tenant_id   BLOB NOT NULL,
    id          BLOB NOT NULL,
    group_id    BLOB NOT NULL,
    name        TEXT NOT NULL,
    sort        INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES tag_groups (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX tags_group_name ON tags (tenant_id, group_id, name);

CREATE TABLE customer_tags (
    tenant_id    BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    tag_id       BLOB NOT NULL,
    added_by     BLOB,
    added_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, tag_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, tag_id) REFERENCES tags (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_tags_tag ON customer_tags (tenant_id, tag_id, customer_id);

CREATE TABLE tag_history (
    tenant_id    BLOB NOT NULL,
    id           BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    tag_id       BLOB NOT NULL,
    tag_name     TEXT NOT NULL,
    op           TEXT NOT NULL CHECK (op IN ('add', 'remove')),
    actor_id     BLOB,
    reason       TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tag_history_customer ON tag_history (tenant_id, customer_id, at);

CREATE TABLE fields (
    tenant_id   BLOB NOT NULL REFERENCES tenants (tenant_id),
    id          BLOB NOT NULL,
    key         TEXT NOT NULL,
    label       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('text', 'number', 'date', 'single_choice', 'multi_choice')),
    options     TEXT NOT NULL,
    sort        INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX fields_key ON fields (tenant_id, key);

CREATE TABLE notes (
    tenant_id    BLOB NOT NULL,
    id           BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    author_id    BLOB NOT NULL,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX notes_customer ON notes (tenant_id, customer_id, created_at);

CREATE TABLE timeline (
    tenant_id    BLOB NOT NULL,
    id           BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    occurred_at  TEXT NOT NULL,
    source       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    actor_id     BLOB,
    payload      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX timeline_customer ON timeline (tenant_id, customer_id, occurred_at DESC, id DESC);

CREATE TABLE idempotency (
    tenant_id      BLOB NOT NULL,
    principal      TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    status         INTEGER,
    response_body  BLOB,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, principal, key)
);
CREATE INDEX idempotency_created ON idempotency (tenant_id, created_at);

CREATE TABLE jobs (
    tenant_id       BLOB NOT NULL REFERENCES tenants (tenant_id),
    id              BLOB NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    payload         TEXT NOT NULL,
    progress_done   INTEGER NOT NULL DEFAULT 0,
    progress_total  INTEGER NOT NULL DEFAULT 0,
    result          TEXT,
    error           TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_by      BLOB,
    created_at      TEXT NOT NULL,
    run_after       TEXT NOT NULL,
    locked_until    TEXT,
    finished_at     TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX jobs_due ON jobs (tenant_id, status, run_after);
