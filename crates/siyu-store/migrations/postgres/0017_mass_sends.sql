-- Mass sends (企业群发, reference/wecom.md §4.6): a task to customers picked by segment, tags or staff, planned
-- into one recipient row per customer (the unique key: never twice, whatever is retried or re-run) and chunks
-- of at most 10,000 customers per sending staff member, each one `add_msg_template` call. A chunk is claimed
-- (`sending`) before its call and finished with WeCom's msgid in the same transaction that marks its
-- recipients and writes them to the journey outbox as sent on the `wecom` channel, so journeys' frequency
-- caps and the next mass send's see them. A chunk found `sending` after a crash is reconciled with WeCom's own
-- record (get_groupmsg_list_v2 + get_groupmsg_send_result) before it is ever sent again.
-- PostgreSQL dialect.

CREATE TABLE mass_sends (
    tenant_id     UUID NOT NULL REFERENCES tenants (tenant_id),
    id            UUID NOT NULL,
    corp_row_id   UUID NOT NULL,
    name          TEXT NOT NULL,
    -- JSON: {segment, tag_ids, staff (userids)}.
    audience      JSONB NOT NULL,
    -- JSON: {text, attachments}.
    content       JSONB NOT NULL,
    -- Marketing messages a customer may get per local day on the wecom channel (journeys included).
    daily_cap     BIGINT NOT NULL,
    scheduled_at  TIMESTAMPTZ NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('scheduled', 'planned', 'sending', 'sent', 'cancelled', 'failed')),
    job_id        UUID,
    error         TEXT,
    created_by    UUID,
    created_at    TIMESTAMPTZ NOT NULL,
    planned_at    TIMESTAMPTZ,
    finished_at   TIMESTAMPTZ,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX mass_sends_created ON mass_sends (tenant_id, created_at);

CREATE TABLE mass_send_recipients (
    tenant_id        UUID NOT NULL,
    send_id          UUID NOT NULL,
    customer_id      UUID NOT NULL,
    sender           TEXT,
    external_userid  TEXT,
    chunk_no         BIGINT,
    -- planned → sent (in a template) → delivered / not_friend / capped_by_wecom (results pulled back) or
    -- failed (in fail_list); or skipped: opted_out, capped, no_staff.
    status           TEXT NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, send_id, customer_id)
);
CREATE INDEX mass_send_recipients_chunk ON mass_send_recipients (tenant_id, send_id, chunk_no, external_userid);

CREATE TABLE mass_send_chunks (
    tenant_id   UUID NOT NULL,
    send_id     UUID NOT NULL,
    chunk_no    BIGINT NOT NULL,
    sender      TEXT NOT NULL,
    size        BIGINT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    msgid       TEXT,
    failed      BIGINT NOT NULL DEFAULT 0,
    claimed_at  TIMESTAMPTZ,
    sent_at     TIMESTAMPTZ,
    error       TEXT,
    PRIMARY KEY (tenant_id, send_id, chunk_no)
);
