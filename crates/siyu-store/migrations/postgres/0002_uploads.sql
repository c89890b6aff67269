-- Uploaded files waiting to be imported (the console's upload → mapping → preview → run steps, and the
-- import job that reads them). Kept in the database so every node sees them; the bytes are encrypted by
-- the app with the tenant's data key. Rows expire after a day and are purged.

CREATE TABLE uploads (
    tenant_id     UUID NOT NULL REFERENCES tenants (tenant_id),
    id            UUID NOT NULL,
    user_id       UUID NOT NULL,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    bytes         BYTEA NOT NULL,
    size          BIGINT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX uploads_expiry ON uploads (tenant_id, expires_at);
