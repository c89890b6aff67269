-- Segments (cdp.md §6): saved audience definitions, their current members and the log of every entry and
-- exit. The definition is the JSON condition tree of siyu_domain::segment; the store compiles it to SQL.
-- SQLite dialect: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, JSON TEXT.
--
-- `seq` numbers the segment's membership changes: every refresh (full or for one customer) takes the next
-- number, so (segment, customer, version) is unique and a consumer can drop stale deltas.

CREATE TABLE segments (
    tenant_id     BLOB NOT NULL REFERENCES tenants (tenant_id),
    id            BLOB NOT NULL,
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('static', 'dynamic')),
    definition    TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'archived')),
    seq           INTEGER NOT NULL DEFAULT 0,
    member_count  INTEGER NOT NULL DEFAULT 0,
    refreshed_at  TEXT,
    created_by    BLOB,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX segments_name ON segments (tenant_id, name);

CREATE TABLE segment_members (
    tenant_id    BLOB NOT NULL,
    segment_id   BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    version      INTEGER NOT NULL,
    entered_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, segment_id, customer_id),
    FOREIGN KEY (tenant_id, segment_id) REFERENCES segments (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX segment_members_customer ON segment_members (tenant_id, customer_id);

-- Append-only delta log: `enter` / `exit` with the membership version and why (`initial` for the first
-- materialisation, which journeys do not treat as an entry; `refresh`, `change`, `manual`, `import`).
CREATE TABLE segment_changes (
    tenant_id    BLOB NOT NULL,
    segment_id   BLOB NOT NULL,
    version      INTEGER NOT NULL,
    customer_id  BLOB NOT NULL,
    op           TEXT NOT NULL CHECK (op IN ('enter', 'exit')),
    reason       TEXT NOT NULL,
    at           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, segment_id, version, customer_id),
    FOREIGN KEY (tenant_id, segment_id) REFERENCES segments (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX segment_changes_customer ON segment_changes (tenant_id, customer_id, at);
CREATE TRIGGER segment_changes_append_only BEFORE UPDATE ON segment_changes
BEGIN
    SELECT RAISE(ABORT, 'segment_changes is append-only');
END;

-- Size per segment and day (tenant time zone), written by each refresh: the trend on the segment list.
CREATE TABLE segment_sizes (
    tenant_id   BLOB NOT NULL,
    segment_id  BLOB NOT NULL,
    day         TEXT NOT NULL,
    members     INTEGER NOT NULL,
    entered     INTEGER NOT NULL,
    exited      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, segment_id, day),
    FOREIGN KEY (tenant_id, segment_id) REFERENCES segments (tenant_id, id) ON DELETE CASCADE
);
