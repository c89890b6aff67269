-- Journey sends on the `wecom` channel: one `add_msg_template` per customer, from the staff member who owns
-- the customer, which that member still confirms in WeCom. Each template WeCom accepted is polled for its
-- result (`get_groupmsg_send_result`) until it is final (sent, not a friend, over the customer's monthly
-- limit) or the window ends; the result comes back to the customer's timeline. The row goes once final.
-- PostgreSQL dialect.

CREATE TABLE wecom_send_polls (
    tenant_id        UUID NOT NULL REFERENCES tenants (tenant_id),
    outbox_id        UUID NOT NULL,
    corp_row_id      UUID NOT NULL,
    msgid            TEXT NOT NULL,
    sender           TEXT NOT NULL,
    external_userid  TEXT NOT NULL,
    sent_at          TIMESTAMPTZ NOT NULL,
    next_poll_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, outbox_id)
);
CREATE INDEX wecom_send_polls_due ON wecom_send_polls (tenant_id, next_poll_at);
