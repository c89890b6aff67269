-- WeCom integration (reference/wecom.md): the corps a tenant connects; the callbacks they push, persisted
-- (decrypted, deduplicated) before they are answered and processed afterwards; the staff and departments
-- synced from WeCom and the siyu members they are; the corp tags' WeCom ids; customer groups, their members
-- and the joins and leaves behind their trends; the relations a customer or staff member ended; and the
-- per-corp, per-API rate budget every node draws on.
-- A group member is tied to a customer through its external_userid identity (read through `identities`), so
-- merges and un-merges never leave it pointing at the wrong person.
-- PostgreSQL dialect.

CREATE TABLE wecom_corps (
    tenant_id         UUID NOT NULL REFERENCES tenants (tenant_id),
    id                UUID NOT NULL,
    corp_id           TEXT NOT NULL,
    name              TEXT NOT NULL,
    agent_id          BIGINT,
    -- JSON {contact_secret, app_secret, callback_token, callback_aes_key} sealed with the tenant's data key.
    secrets_enc       BYTEA NOT NULL,
    -- NULL: WeCom itself; set to a fake's URL for the demo and tests.
    api_base          TEXT,
    status            TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    checked_at        TIMESTAMPTZ,
    check_error       TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    updated_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX wecom_corps_corp ON wecom_corps (tenant_id, corp_id);

-- Platform table (a Citus reference table): the tenant of a callback URL `/wecom/callback/{route_id}`.
CREATE TABLE wecom_callback_routes (
    route_id    UUID PRIMARY KEY,
    tenant_id   UUID NOT NULL,
    corp_row_id UUID NOT NULL
);

CREATE TABLE wecom_callbacks (
    tenant_id     UUID NOT NULL REFERENCES tenants (tenant_id),
    id            UUID NOT NULL,
    corp_row_id   UUID NOT NULL,
    dedupe_key    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    -- 0: carries a welcome code (20 s to use it), 1: the rest.
    priority      BIGINT NOT NULL,
    body          TEXT NOT NULL,
    event         JSONB NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    next_at       TIMESTAMPTZ NOT NULL,
    lease_until   TIMESTAMPTZ,
    received_at   TIMESTAMPTZ NOT NULL,
    processed_at  TIMESTAMPTZ,
    error         TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX wecom_callbacks_dedupe ON wecom_callbacks (tenant_id, corp_row_id, dedupe_key);
CREATE INDEX wecom_callbacks_due ON wecom_callbacks (tenant_id, status, priority, next_at);

CREATE TABLE wecom_departments (
    tenant_id       UUID NOT NULL REFERENCES tenants (tenant_id),
    corp_row_id     UUID NOT NULL,
    dept_id         BIGINT NOT NULL,
    department_id   UUID NOT NULL,
    parent_dept_id  BIGINT,
    name            TEXT NOT NULL,
    synced_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, corp_row_id, dept_id)
);

CREATE TABLE wecom_staff (
    tenant_id        UUID NOT NULL REFERENCES tenants (tenant_id),
    corp_row_id      UUID NOT NULL,
    userid           TEXT NOT NULL,
    user_id          UUID NOT NULL,
    name             TEXT NOT NULL,
    departments      JSONB NOT NULL,
    main_department  BIGINT,
    position         TEXT,
    -- WeCom's: 1 active, 2 disabled, 4 not activated, 5 left.
    status           BIGINT NOT NULL,
    -- Has the customer-contact (客户联系) permission.
    contact_enabled  BOOLEAN NOT NULL DEFAULT FALSE,
    left_at          TIMESTAMPTZ,
    synced_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, corp_row_id, userid)
);
CREATE UNIQUE INDEX wecom_staff_user ON wecom_staff (tenant_id, user_id);

CREATE TABLE wecom_tags (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    corp_row_id  UUID NOT NULL,
    wecom_id     TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('tag', 'group')),
    local_id     UUID NOT NULL,
    synced_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, corp_row_id, wecom_id)
);
CREATE UNIQUE INDEX wecom_tags_local ON wecom_tags (tenant_id, local_id, corp_row_id);

CREATE TABLE follow_removals (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    id           UUID NOT NULL,
    customer_id  UUID NOT NULL,
    user_id      UUID NOT NULL,
    removed_by   TEXT NOT NULL CHECK (removed_by IN ('staff', 'customer', 'transfer')),
    state        TEXT,
    added_at     TIMESTAMPTZ,
    removed_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX follow_removals_customer ON follow_removals (tenant_id, customer_id, removed_at);
CREATE INDEX follow_removals_state ON follow_removals (tenant_id, state, removed_at);

CREATE TABLE customer_groups (
    tenant_id         UUID NOT NULL REFERENCES tenants (tenant_id),
    id                UUID NOT NULL,
    corp_row_id       UUID NOT NULL,
    chat_id           TEXT NOT NULL,
    name              TEXT NOT NULL,
    owner_userid      TEXT NOT NULL,
    owner_id          UUID,
    notice            TEXT,
    -- WeCom's: 0 normal, 1 owner left, 2 inheriting, 3 inherited.
    status            BIGINT NOT NULL,
    dismissed_at      TIMESTAMPTZ,
    member_version    TEXT,
    member_count      BIGINT NOT NULL DEFAULT 0,
    customer_count    BIGINT NOT NULL DEFAULT 0,
    -- 'daily' (日常销售群) or 'flash' (3-7 day flash-sale group with open and close dates).
    kind              TEXT NOT NULL DEFAULT 'daily' CHECK (kind IN ('daily', 'flash')),
    opens_on          DATE,
    closes_on         DATE,
    wecom_created_at  TIMESTAMPTZ,
    synced_at         TIMESTAMPTZ NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX customer_groups_chat ON customer_groups (tenant_id, corp_row_id, chat_id);
CREATE INDEX customer_groups_owner ON customer_groups (tenant_id, owner_id);

CREATE TABLE group_members (
    tenant_id       UUID NOT NULL,
    group_id        UUID NOT NULL,
    -- The staff userid (type 1) or the customer's external_userid (type 2).
    member_key      TEXT NOT NULL,
    member_type     BIGINT NOT NULL,
    unionid         TEXT,
    name            TEXT,
    group_nickname  TEXT,
    join_time       TIMESTAMPTZ,
    join_scene      BIGINT,
    invitor         TEXT,
    state           TEXT,
    PRIMARY KEY (tenant_id, group_id, member_key),
    FOREIGN KEY (tenant_id, group_id) REFERENCES customer_groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_members_key ON group_members (tenant_id, member_key, group_id);

CREATE TABLE group_member_changes (
    tenant_id    UUID NOT NULL,
    id           UUID NOT NULL,
    group_id     UUID NOT NULL,
    member_key   TEXT NOT NULL,
    member_type  BIGINT NOT NULL,
    op           TEXT NOT NULL CHECK (op IN ('join', 'leave')),
    scene        BIGINT,
    at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES customer_groups (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_member_changes_group ON group_member_changes (tenant_id, group_id, at);

CREATE TABLE wecom_rate_buckets (
    tenant_id      UUID NOT NULL REFERENCES tenants (tenant_id),
    corp_id        TEXT NOT NULL,
    path           TEXT NOT NULL,
    tat_minute     BIGINT NOT NULL,
    tat_hour       BIGINT NOT NULL,
    blocked_until  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, corp_id, path)
);
