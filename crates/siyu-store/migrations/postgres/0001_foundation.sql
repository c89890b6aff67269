-- Foundation: tenants, accounts and members, sessions, tokens, audit, customers and their satellites.
-- Rule: every tenant-owned table has tenant_id first in its primary key and in every index.
-- Platform tables (accounts, sessions, login_throttle) have no tenant: they are Citus reference tables.

CREATE TABLE tenants (
    tenant_id   UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    timezone    TEXT NOT NULL DEFAULT 'Asia/Shanghai',
    data_key    BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE accounts (
    user_id         UUID PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    platform_admin  BOOLEAN NOT NULL DEFAULT FALSE,
    locale          TEXT NOT NULL DEFAULT 'zh-CN',
    status          TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at      TIMESTAMPTZ NOT NULL
);

CREATE TABLE departments (
    tenant_id   UUID NOT NULL REFERENCES tenants (tenant_id),
    id          UUID NOT NULL,
    parent_id   UUID,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE members (
    tenant_id      UUID NOT NULL REFERENCES tenants (tenant_id),
    user_id        UUID NOT NULL REFERENCES accounts (user_id),
    role           TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'staff', 'auditor')),
    scope          TEXT NOT NULL CHECK (scope IN ('all', 'department', 'self')),
    department_id  UUID,
    status         TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX members_department ON members (tenant_id, department_id);

CREATE TABLE sessions (
    id_hash       BYTEA PRIMARY KEY,
    user_id       UUID NOT NULL REFERENCES accounts (user_id),
    tenant_id     UUID,
    csrf_token    TEXT NOT NULL,
    ip            TEXT,
    user_agent    TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY,
    failures      BIGINT NOT NULL,
    window_start  TIMESTAMPTZ NOT NULL
);

CREATE TABLE api_tokens (
    tenant_id     UUID NOT NULL REFERENCES tenants (tenant_id),
    id            UUID NOT NULL,
    name          TEXT NOT NULL,
    token_hash    BYTEA NOT NULL,
    prefix        TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    created_by    UUID NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (tenant_id, token_hash);

CREATE TABLE audit_log (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    id           UUID NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    actor_id     UUID,
    actor_name   TEXT NOT NULL,
    action       TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT,
    ip           TEXT,
    user_agent   TEXT,
    detail       JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_action ON audit_log (tenant_id, action, id);

CREATE TABLE customers (
    tenant_id       UUID NOT NULL REFERENCES tenants (tenant_id),
    id              UUID NOT NULL,
    name            TEXT NOT NULL,
    gender          TEXT NOT NULL CHECK (gender IN ('unknown', 'male', 'female')),
    avatar_url      TEXT,
    remark          TEXT,
    source          TEXT NOT NULL,
    custom          JSONB NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    last_active_at  TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX customers_created ON customers (tenant_id, created_at DESC, id DESC);
CREATE INDEX customers_active ON customers (tenant_id, last_active_at);
CREATE INDEX customers_name ON customers (tenant_id, name);

CREATE TABLE identities (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    id           UUID NOT NULL,
    customer_id  UUID NOT NULL,
    kind         TEXT NOT NULL,
    namespace    TEXT NOT NULL,
    lookup       TEXT NOT NULL,
    value_enc    BYTEA,
    display      TEXT NOT NULL,
    source       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX identities_lookup ON identities (tenant_id, kind, namespace, lookup);
CREATE INDEX identities_customer ON identities (tenant_id, customer_id);

CREATE TABLE follows (
    tenant_id    UUID NOT NULL,
    customer_id  UUID NOT NULL,
    user_id      UUID NOT NULL,
    remark       TEXT,
    description  TEXT,
    add_way      TEXT NOT NULL,
    state        TEXT,
    added_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, user_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX follows_user ON follows (tenant_id, user_id, customer_id);

CREATE TABLE tag_groups (
    tenant_id   UUID NOT NULL REFERENCES tenants (tenant_id),
    id          UUID NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('enterprise', 'personal')),
    owner_id    UUID,
    exclusive   BOOLEAN NOT NULL,
    sort        BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE tags (
    tenant_id   UUID NOT NULL,
    id          UUID NOT NULL,
    group_id    UUID NOT NULL,
    name        TEXT NOT NULL,
    sort        BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES tag_groups (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX tags_group_name ON tags (tenant_id, group_id, name);

CREATE TABLE customer_tags (
    tenant_id    UUID NOT NULL,
    customer_id  UUID NOT NULL,
    tag_id       UUID NOT NULL,
    added_by     UUID,
    added_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, customer_id, tag_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, tag_id) REFERENCES tags (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_tags_tag ON customer_tags (tenant_id, tag_id, customer_id);

CREATE TABLE tag_history (
    tenant_id    UUID NOT NULL,
    id           UUID NOT NULL,
    customer_id  UUID NOT NULL,
    tag_id       UUID NOT NULL,
    tag_name     TEXT NOT NULL,
    op           TEXT NOT NULL CHECK (op IN ('add', 'remove')),
    actor_id     UUID,
    reason       TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX tag_history_customer ON tag_history (tenant_id, customer_id, at);

CREATE TABLE fields (
    tenant_id   UUID NOT NULL REFERENCES tenants (tenant_id),
    id          UUID NOT NULL,
    key         TEXT NOT NULL,
    label       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('text', 'number', 'date', 'single_choice', 'multi_choice')),
    options     JSONB NOT NULL,
    sort        BIGINT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX fields_key ON fields (tenant_id, key);

CREATE TABLE notes (
    tenant_id    UUID NOT NULL,
    id           UUID NOT NULL,
    customer_id  UUID NOT NULL,
    author_id    UUID NOT NULL,
    body         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX notes_customer ON notes (tenant_id, customer_id, created_at);

CREATE TABLE timeline (
    tenant_id    UUID NOT NULL,
    id           UUID NOT NULL,
    customer_id  UUID NOT NULL,
    occurred_at  TIMESTAMPTZ NOT NULL,
    source       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    actor_id     UUID,
    payload      JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX timeline_customer ON timeline (tenant_id, customer_id, occurred_at DESC, id DESC);

CREATE TABLE idempotency (
    tenant_id      UUID NOT NULL,
    principal      TEXT NOT NULL,
    key            TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    status         BIGINT,
    response_body  BYTEA,
    created_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, principal, key)
);
CREATE INDEX idempotency_created ON idempotency (tenant_id, created_at);

CREATE TABLE jobs (
    tenant_id       UUID NOT NULL REFERENCES tenants (tenant_id),
    id              UUID NOT NULL,
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    payload         JSONB NOT NULL,
    progress_done   BIGINT NOT NULL DEFAULT 0,
    progress_total  BIGINT NOT NULL DEFAULT 0,
    result          JSONB,
    error           TEXT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    created_by      UUID,
    created_at      TIMESTAMPTZ NOT NULL,
    run_after       TIMESTAMPTZ NOT NULL,
    locked_until    TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX jobs_due ON jobs (tenant_id, status, run_after);
