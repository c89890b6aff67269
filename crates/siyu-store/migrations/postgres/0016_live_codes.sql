-- Staff live codes (员工活码) and welcome messages (reference/wecom.md §4.3, §4.4).
-- A live code is a WeCom contact way siyu keeps pointed at the staff who should get the next add
-- (`current`, moved after every add by the rotation in `rotation`); its `state` comes back on every add.
-- live_code_adds holds one row per (code, customer, staff) add: the unique key makes the add's side effects
-- (welcome, tags, remark, rotation) happen once however often WeCom repeats the callback. welcome_templates
-- holds the tenant's default welcome message (scope 'default', with the nickname block list) and each staff
-- member's (scope = their user id).
-- PostgreSQL dialect.

CREATE TABLE live_codes (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    id           UUID NOT NULL,
    corp_row_id  UUID NOT NULL,
    name         TEXT NOT NULL,
    -- The channel label (门店海报, 包裹卡, 短信, …) attribution reports use.
    channel      TEXT NOT NULL,
    state        TEXT NOT NULL,
    -- JSON: routing, skip_verify, exclusive, tag_ids, remark_template, description, welcome.
    definition   JSONB NOT NULL,
    config_id    TEXT,
    qr_code      TEXT,
    current      JSONB NOT NULL DEFAULT '[]',
    rotation     JSONB NOT NULL DEFAULT '{}',
    status       TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX live_codes_state ON live_codes (tenant_id, state);

CREATE TABLE live_code_adds (
    tenant_id        UUID NOT NULL REFERENCES tenants (tenant_id),
    id               UUID NOT NULL,
    code_id          UUID NOT NULL,
    userid           TEXT NOT NULL,
    external_userid  TEXT NOT NULL,
    customer_id      UUID,
    -- The add's local date (the daily caps count by it).
    day              DATE NOT NULL,
    added_at         TIMESTAMPTZ NOT NULL,
    -- 'sent', 'blocked' (nickname block list), 'none' (no message or no welcome code), 'failed', 'late'.
    welcome          TEXT NOT NULL DEFAULT 'none',
    -- Milliseconds from the callback's arrival to WeCom's answer to send_welcome_msg.
    welcome_ms       BIGINT,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX live_code_adds_once ON live_code_adds (tenant_id, code_id, external_userid, userid);
CREATE INDEX live_code_adds_day ON live_code_adds (tenant_id, code_id, day, userid);

CREATE TABLE welcome_templates (
    tenant_id   UUID NOT NULL REFERENCES tenants (tenant_id),
    scope       TEXT NOT NULL,
    message     JSONB NOT NULL,
    block_list  JSONB NOT NULL DEFAULT '[]',
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, scope)
);
