-- Quick-reply scripts (话术): groups of ordered scripts staff send from the sidebar. A group is the team's
-- (owner_key 'team', kept by content managers) or one member's own (owner_key = their user id); the name is
-- unique per owner. Each script has a title, text with variables ({客户昵称}, {员工姓名}), up to nine WeCom
-- attachments as JSON, its place in the group, and how often it was used.
-- PostgreSQL dialect.

CREATE TABLE script_groups (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    id           UUID NOT NULL,
    owner_key    TEXT NOT NULL,
    name         TEXT NOT NULL,
    position     BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX script_groups_name ON script_groups (tenant_id, owner_key, name);

CREATE TABLE scripts (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    id           UUID NOT NULL,
    group_id     UUID NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    attachments  TEXT NOT NULL DEFAULT '[]',
    position     BIGINT NOT NULL DEFAULT 0,
    uses         BIGINT NOT NULL DEFAULT 0,
    last_used_at TIMESTAMPTZ,
    created_by   UUID,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX scripts_group ON scripts (tenant_id, group_id, position);

-- Group members are matched to customers by external_userid without knowing the corp (its namespace):
-- index identities by (kind, lookup) too, or that join scans every identity of the kind.
CREATE INDEX identities_kind_lookup ON identities (tenant_id, kind, lookup);
