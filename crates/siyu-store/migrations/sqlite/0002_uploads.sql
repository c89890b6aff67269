-- Uploaded files waiting to be imported (the console's upload → mapping → preview → run steps, and the
-- import job that reads them). Kept in the database so every node sees them; the bytes are encrypted by
-- the app with the tenant's data key. Rows expire after a day and are purged.
-- SQLite dialect: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC.

CREATE TABLE uploads (
    tenant_id     BLOB NOT NULL REFERENCES tenants (tenant_id),
    id            BLOB NOT NULL,
    user_id       BLOB NOT NULL,
    filename      TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    bytes         BLOB NOT NULL,
    size          INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX uploads_expiry ON uploads (tenant_id, expires_at);
