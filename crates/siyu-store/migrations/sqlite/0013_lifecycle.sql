-- Lifecycle stages (reference/journeys.md §2) and the journey signal queue.
-- SQLite dialect: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, JSON TEXT.
--
-- `lifecycle_stages` holds a tenant's stages with their entry rules (JSON, siyu_domain::stage); a tenant
-- without rows uses the defaults. `customer_stages` is each customer's current stage and when they entered
-- it (day N of a stage counts from there); `stage_history` appends every change.
--
-- `journey_signals` is what journeys and stage rules react to, written by triggers in the same transaction
-- as the fact: timeline entries of the kinds below, segment entries and exits (not the first
-- materialisation), and track events once resolved to a customer when a journey or stage rule listens for
-- their name (`event_listens`). The worker takes signals in order, reacts (stage moves, enrolments, exits,
-- wake-ups) and deletes them in one transaction, so each is acted on once.

CREATE TABLE lifecycle_stages (
    tenant_id   BLOB NOT NULL REFERENCES tenants (tenant_id),
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    dormant     INTEGER NOT NULL,
    rules       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE customer_stages (
    tenant_id    BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    stage        TEXT NOT NULL,
    entered_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_stages_stage ON customer_stages (tenant_id, stage, entered_at);

CREATE TABLE stage_history (
    tenant_id    BLOB NOT NULL,
    id           BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    from_stage   TEXT,
    to_stage     TEXT NOT NULL,
    at           TEXT NOT NULL,
    -- `rule:<kind>`, `manual`, `journey`, `silence`, `timeout`.
    reason       TEXT NOT NULL,
    actor_id     BLOB,
    journey_id   BLOB,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX stage_history_customer ON stage_history (tenant_id, customer_id, at);

-- Date-property triggers scan once per journey and local day (a second scan the same day could enrol a
-- customer whose first run already ended).
CREATE TABLE journey_date_scans (
    tenant_id   BLOB NOT NULL,
    journey_id  BLOB NOT NULL,
    day         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, journey_id, day)
);

CREATE TABLE event_listens (
    tenant_id  BLOB NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE journey_signals (
    tenant_id    BLOB NOT NULL,
    id           BLOB NOT NULL,
    customer_id  BLOB NOT NULL,
    -- `timeline`, `event` or `segment`.
    source       TEXT NOT NULL,
    -- The timeline kind, the event's name, or `segment_enter` / `segment_exit`.
    kind         TEXT NOT NULL,
    -- The segment of a segment signal.
    ref_id       BLOB,
    payload      TEXT,
    at           TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX journey_signals_order ON journey_signals (tenant_id, at, id);

CREATE TRIGGER timeline_signal AFTER INSERT ON timeline
    WHEN NEW.kind IN ('customer_created', 'tag_added', 'tag_removed', 'order_imported', 'order_status_changed',
                      'consent_changed', 'stage_changed', 'follow_added', 'task_completed', 'message_sent',
                      'message_failed')
BEGIN
    INSERT OR IGNORE INTO journey_signals (tenant_id, id, customer_id, source, kind, payload, at)
    VALUES (NEW.tenant_id, NEW.id, NEW.customer_id, 'timeline', NEW.kind, NEW.payload, NEW.occurred_at);
END;

CREATE TRIGGER segment_signal AFTER INSERT ON segment_changes
    WHEN NEW.reason <> 'initial'
BEGIN
    INSERT INTO journey_signals (tenant_id, id, customer_id, source, kind, ref_id, at)
    VALUES (NEW.tenant_id, randomblob(16), NEW.customer_id, 'segment', 'segment_' || NEW.op, NEW.segment_id, NEW.at);
END;

CREATE TRIGGER event_signal AFTER UPDATE OF customer_id ON events
    WHEN OLD.customer_id IS NULL AND NEW.customer_id IS NOT NULL AND NEW.type = 'track'
        AND EXISTS (SELECT 1 FROM event_listens WHERE tenant_id = NEW.tenant_id AND name = NEW.name)
BEGIN
    INSERT OR IGNORE INTO journey_signals (tenant_id, id, customer_id, source, kind, payload, at)
    VALUES (NEW.tenant_id, NEW.id, NEW.customer_id, 'event', NEW.name, NEW.payload, NEW.event_time);
END;
