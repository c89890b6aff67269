-- Event ingestion (Segment-compatible /v1/*): sources with their hashed write keys, the append-only event
-- log, quarantined items ("bad rows") and the per-source rate-limit windows.
-- SQLite dialect: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, JSON TEXT.
-- Event and quarantine ids are UUIDv7 stamped with received_at, so id order is arrival order.

CREATE TABLE event_sources (
    tenant_id   BLOB NOT NULL REFERENCES tenants (tenant_id),
    id          BLOB NOT NULL,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('web', 'mini_program', 'server', 'import')),
    key_prefix  TEXT NOT NULL,
    key_hash    BLOB NOT NULL,
    created_by  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX event_sources_key ON event_sources (tenant_id, key_hash);

-- customer_id is filled in by identity resolution; message_id is the client's (or a generated) messageId;
-- name is the track event or the page/screen name; payload is the whole message in Segment wire form.
CREATE TABLE events (
    tenant_id           BLOB NOT NULL,
    id                  BLOB NOT NULL,
    source_id           BLOB NOT NULL,
    message_id          TEXT NOT NULL,
    type                TEXT NOT NULL CHECK (type IN ('track', 'identify', 'page', 'screen', 'group', 'alias')),
    name                TEXT,
    anonymous_id        TEXT,
    user_id             TEXT,
    customer_id         BLOB,
    event_time          TEXT NOT NULL,
    original_timestamp  TEXT,
    sent_at             TEXT,
    received_at         TEXT NOT NULL,
    payload             TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, source_id) REFERENCES event_sources (tenant_id, id)
);
CREATE UNIQUE INDEX events_message ON events (tenant_id, source_id, message_id);
CREATE INDEX events_source_latest ON events (tenant_id, source_id, received_at DESC, id DESC);
CREATE INDEX events_customer_time ON events (tenant_id, customer_id, event_time, id)
    WHERE customer_id IS NOT NULL;

CREATE TABLE event_quarantine (
    tenant_id    BLOB NOT NULL,
    id           BLOB NOT NULL,
    source_id    BLOB NOT NULL,
    received_at  TEXT NOT NULL,
    item_index   INTEGER NOT NULL,
    code         TEXT NOT NULL,
    message      TEXT NOT NULL,
    item         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, source_id) REFERENCES event_sources (tenant_id, id)
);
CREATE INDEX event_quarantine_source_latest ON event_quarantine (tenant_id, source_id, received_at DESC, id DESC);

-- Fixed-window request counters shared by every node (one row per source and window).
CREATE TABLE ingest_windows (
    tenant_id     BLOB NOT NULL,
    source_id     BLOB NOT NULL,
    window_start  TEXT NOT NULL,
    count         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, source_id, window_start)
);
