-- Scheduled audience refresh (cdp.md §7–8, "定时更新的广告人群包"): a segment's ad-platform audience file
-- (SHA-256 of normalised phones or openids of the members who granted the `ad_audience` consent) regenerated
-- every `every_hours` and kept as the latest snapshot, sealed with the tenant's data key, with a history of
-- runs (counts, hashes added and removed since the previous snapshot, or the error).
-- No customer id is stored here, so the PIPL erasure has no statement for these tables: an erased customer
-- has no phone, openid or consent left and drops out of the file at the next run.
-- PostgreSQL dialect: UUIDs, TIMESTAMPTZ, BIGINT, BOOLEAN, BYTEA.
--
-- `next_run_at` is also the claim: a worker (or an on-demand run) moves it to its lease only if it still
-- holds the value it read, and sets `lease_until`; two workers never run one sync at once.

CREATE TABLE audience_syncs (
    tenant_id        UUID NOT NULL REFERENCES tenants (tenant_id),
    id               UUID NOT NULL,
    segment_id       UUID NOT NULL,
    key              TEXT NOT NULL CHECK (key IN ('phone', 'openid')),
    every_hours      BIGINT NOT NULL CHECK (every_hours BETWEEN 1 AND 168),
    enabled          BOOLEAN NOT NULL,
    next_run_at      TIMESTAMPTZ NOT NULL,
    lease_until      TIMESTAMPTZ,
    created_by       UUID NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    last_run_at      TIMESTAMPTZ,
    file_sealed      BYTEA,
    file_sha256      TEXT,
    members          BIGINT,
    rows_written     BIGINT,
    without_consent  BIGINT,
    without_key      BIGINT,
    added            BIGINT,
    removed          BIGINT,
    last_error       TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, segment_id) REFERENCES segments (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX audience_syncs_segment ON audience_syncs (tenant_id, segment_id);
CREATE INDEX audience_syncs_due ON audience_syncs (tenant_id, next_run_at);

-- One row per run, newest last; `error` is set when the run failed (no file then).
CREATE TABLE audience_sync_runs (
    tenant_id        UUID NOT NULL,
    sync_id          UUID NOT NULL,
    id               UUID NOT NULL,
    at               TIMESTAMPTZ NOT NULL,
    members          BIGINT NOT NULL,
    rows_written     BIGINT NOT NULL,
    without_consent  BIGINT NOT NULL,
    without_key      BIGINT NOT NULL,
    added            BIGINT NOT NULL,
    removed          BIGINT NOT NULL,
    sha256           TEXT,
    error            TEXT,
    PRIMARY KEY (tenant_id, sync_id, id),
    FOREIGN KEY (tenant_id, sync_id) REFERENCES audience_syncs (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX audience_sync_runs_at ON audience_sync_runs (tenant_id, sync_id, at);
