-- Group mass sends and customer moments (reference/wecom.md §4.6, §4.7).
--
-- `mass_send_groups`: a mass send to customer groups (chat_type `group`) has one row per group instead of one
-- per customer, unique per send, so no retry or re-run sends to a group twice. Its chunks (≤2,000 groups of
-- one owner, one `add_msg_template` with `chat_id_list`) are rows of `mass_send_chunks`, claimed and finished
-- exactly like a customer send's.
--
-- `moments`: a customer-moments task (客户朋友圈): `add_moment_task` is claimed (`submitting`) before its
-- call and its jobid stored (`creating`); the job polls `get_moment_task_result` until WeCom reports the
-- moment (`published`). Then who published (`moment_senders`), who it was visible to (`moment_visible`) and
-- its comments and likes (`moment_interactions`, unique on WeCom's own fields so a pull twice writes the
-- customer's timeline once) are pulled back.
-- PostgreSQL dialect.

CREATE TABLE mass_send_groups (
    tenant_id   UUID NOT NULL,
    send_id     UUID NOT NULL,
    chat_id     TEXT NOT NULL,
    group_id    UUID,
    name        TEXT NOT NULL,
    owner       TEXT NOT NULL,
    chunk_no    BIGINT,
    -- planned → sent → delivered / not_friend (the group is gone) / capped_by_wecom, or failed; or skipped:
    -- capped (the group's monthly reception limit), no_staff (its owner is no active staff member).
    status      TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, send_id, chat_id)
);
CREATE INDEX mass_send_groups_chunk ON mass_send_groups (tenant_id, send_id, chunk_no, chat_id);
CREATE INDEX mass_send_groups_chat ON mass_send_groups (tenant_id, chat_id, updated_at);

CREATE TABLE moments (
    tenant_id     UUID NOT NULL REFERENCES tenants (tenant_id),
    id            UUID NOT NULL,
    corp_row_id   UUID NOT NULL,
    name          TEXT NOT NULL,
    -- JSON: {text, attachments}.
    content       JSONB NOT NULL,
    -- JSON: {staff (userids), tag_ids}.
    visibility    JSONB NOT NULL,
    scheduled_at  TIMESTAMPTZ NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('scheduled', 'submitting', 'creating', 'published', 'failed',
                                                 'cancelled')),
    job_id        UUID,
    wecom_jobid   TEXT,
    moment_id     TEXT,
    -- JSON: {users, departments, tags} WeCom could not use.
    invalid       JSONB,
    error         TEXT,
    created_by    UUID,
    created_at    TIMESTAMPTZ NOT NULL,
    submitted_at  TIMESTAMPTZ,
    published_at  TIMESTAMPTZ,
    results_at    TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX moments_created ON moments (tenant_id, created_at);

CREATE TABLE moment_senders (
    tenant_id       UUID NOT NULL,
    moment_row_id   UUID NOT NULL,
    userid          TEXT NOT NULL,
    -- WeCom's publish_status: 0 not published, 1 published.
    publish_status  BIGINT NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, moment_row_id, userid)
);

CREATE TABLE moment_visible (
    tenant_id        UUID NOT NULL,
    moment_row_id    UUID NOT NULL,
    userid           TEXT NOT NULL,
    external_userid  TEXT NOT NULL,
    customer_id      UUID,
    PRIMARY KEY (tenant_id, moment_row_id, userid, external_userid)
);

CREATE TABLE moment_interactions (
    tenant_id        UUID NOT NULL,
    moment_row_id    UUID NOT NULL,
    -- The staff member whose post it is on.
    userid           TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('comment', 'like')),
    -- Who: a customer, or (empty external_userid) a staff member.
    external_userid  TEXT NOT NULL,
    staff_userid     TEXT NOT NULL,
    -- WeCom's create_time (unix seconds).
    create_time      BIGINT NOT NULL,
    customer_id      UUID,
    PRIMARY KEY (tenant_id, moment_row_id, userid, kind, external_userid, staff_userid, create_time)
);
CREATE INDEX moment_interactions_customer ON moment_interactions (tenant_id, customer_id);
