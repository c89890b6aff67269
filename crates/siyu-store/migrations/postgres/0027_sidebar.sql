-- The staff sidebar (侧边栏): what staff sent from it. A send is recorded once per (member, send id) the page
-- generated before calling sendChatMessage, so a retried callback never counts a script or material twice.
-- PostgreSQL dialect.

CREATE TABLE sidebar_sends (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    user_id      UUID NOT NULL,
    send_id      TEXT NOT NULL,
    -- 'script' or 'material'.
    kind         TEXT NOT NULL CHECK (kind IN ('script', 'material')),
    object_id    UUID NOT NULL,
    customer_id  UUID NOT NULL,
    sent_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, user_id, send_id)
);
CREATE INDEX sidebar_sends_customer ON sidebar_sends (tenant_id, customer_id);
