-- Scheduled audience refresh (cdp.md §7–8, "定时更新的广告人群包"): a segment's ad-platform audience file
-- (SHA-256 of normalised phones or openids of the members who granted the `ad_audience` consent) regenerated
-- every `every_hours` and kept as the latest snapshot, sealed with the tenant's data key, with a history of
-- runs (counts, hashes added and removed since the previous snapshot, or the error).
-- No customer id is stored here, so the PIPL erasure has no statement for these tables: an erased customer
-- has no phone, openid or consent left and drops out of the file at the next run.
-- SQLite dialect: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, booleans INTEGER.
--
-- `next_run_at` is also the claim: a worker (or an on-demand run) moves it to its lease only if it still
-- holds the value it read, and sets `lease_until`; two workers never run one sync at once.

CREATE TABLE audience_syncs (
    tenant_id        BLOB NOT NULL REFERENCES tenants (tenant_id),
    id               BLOB NOT NULL,
    segment_id       BLOB NOT NULL,
    key              TEXT NOT NULL CHECK (key IN ('phone', 'openid')),
    every_hours      INTEGER NOT NULL CHECK (every_hours BETWEEN 1 AND 168),
    enabled          INTEGER NOT NULL,
    next_run_at      TEXT NOT NULL,
    lease_until      TEXT,
    created_by       BLOB NOT NULL,
    created_at       TEXT NOT NULL,
    last_run_at      TEXT,
    file_sealed      BLOB,
    file_sha256      TEXT,
    members          INTEGER,
    rows_written     INTEGER,
    without_consent  INTEGER,
    without_key      INTEGER,
    added            INTEGER,
    removed          INTEGER,
    last_error       TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, segment_id) REFERENCES segments (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX audience_syncs_segment ON audience_syncs (tenant_id, segment_id);
CREATE INDEX audience_syncs_due ON audience_syncs (tenant_id, next_run_at);

-- One row per run, newest last; `error` is set when the run failed (no file then).
CREATE TABLE audience_sync_runs (
    tenant_id        BLOB NOT NULL,
    sync_id          BLOB NOT NULL,
    id               BLOB NOT NULL,
    at               TEXT NOT NULL,
    members          INTEGER NOT NULL,
    rows_written     INTEGER NOT NULL,
    without_consent  INTEGER NOT NULL,
    without_key      INTEGER NOT NULL,
    added            INTEGER NOT NULL,
    removed          INTEGER NOT NULL,
    sha256           TEXT,
    error            TEXT,
    PRIMARY KEY (tenant_id, sync_id, id),
    FOREIGN KEY (tenant_id, sync_id) REFERENCES audience_syncs (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX audience_sync_runs_at ON audience_sync_runs (tenant_id, sync_id, at);
