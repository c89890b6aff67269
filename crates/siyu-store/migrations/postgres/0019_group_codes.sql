-- Group live codes (群活码) and group welcome templates (入群欢迎语素材) (reference/wecom.md §4.5).
-- A group code is a WeCom join way (scene 2 QR) holding up to five groups (`chat_ids`); siyu rolls a group out
-- when it reaches the code's threshold and puts the next `reserve` group in (`filled` keeps the rolled-out
-- ones); `version` is bumped by every change so concurrent roll-overs compare and set. Its `state` comes back on
-- every member who joins through it: group_code_joins holds one row per (code, group, member, join time), with
-- the customer it resolved to and when the member left. group_welcome_templates holds each template's text and
-- attachment with WeCom's template id.
-- PostgreSQL dialect.

CREATE TABLE group_codes (
    tenant_id     UUID NOT NULL REFERENCES tenants (tenant_id),
    id            UUID NOT NULL,
    corp_row_id   UUID NOT NULL,
    name          TEXT NOT NULL,
    channel       TEXT NOT NULL,
    state         TEXT NOT NULL,
    -- JSON: rollover, threshold, auto_create_room, room_base_name, room_base_id, welcome_template.
    settings      JSONB NOT NULL,
    chat_ids      JSONB NOT NULL DEFAULT '[]',
    slots         BIGINT NOT NULL,
    reserve       JSONB NOT NULL DEFAULT '[]',
    filled        JSONB NOT NULL DEFAULT '[]',
    needs_groups  BOOLEAN NOT NULL DEFAULT FALSE,
    config_id     TEXT,
    qr_code       TEXT,
    status        TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    version       BIGINT NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX group_codes_state ON group_codes (tenant_id, state);

CREATE TABLE group_code_joins (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    id           UUID NOT NULL,
    code_id      UUID NOT NULL,
    group_id     UUID NOT NULL,
    -- The customer's external_userid (or a staff userid) as WeCom lists the member.
    member_key   TEXT NOT NULL,
    member_type  BIGINT NOT NULL,
    customer_id  UUID,
    joined_at    TIMESTAMPTZ NOT NULL,
    left_at      TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX group_code_joins_once ON group_code_joins (tenant_id, code_id, group_id, member_key, joined_at);
CREATE INDEX group_code_joins_group ON group_code_joins (tenant_id, group_id, left_at);

CREATE TABLE group_welcome_templates (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    id           UUID NOT NULL,
    corp_row_id  UUID NOT NULL,
    name         TEXT NOT NULL,
    text         TEXT NOT NULL,
    -- One attachment in WeCom's wire form, or NULL.
    attachment   JSONB,
    template_id  TEXT,
    notify       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
