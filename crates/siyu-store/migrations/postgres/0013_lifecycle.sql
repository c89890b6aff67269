-- Lifecycle stages (reference/journeys.md §2) and the journey signal queue.
-- PostgreSQL dialect.
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
    tenant_id   UUID NOT NULL REFERENCES tenants (tenant_id),
    key         TEXT NOT NULL,
    name        TEXT NOT NULL,
    position    BIGINT NOT NULL,
    dormant     BOOLEAN NOT NULL,
    rules       JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE TABLE customer_stages (
    tenant_id    UUID NOT NULL,
    customer_id  UUID NOT NULL,
    stage        TEXT NOT NULL,
    entered_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX customer_stages_stage ON customer_stages (tenant_id, stage, entered_at);

CREATE TABLE stage_history (
    tenant_id    UUID NOT NULL,
    id           UUID NOT NULL,
    customer_id  UUID NOT NULL,
    from_stage   TEXT,
    to_stage     TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    -- `rule:<kind>`, `manual`, `journey`, `silence`, `timeout`.
    reason       TEXT NOT NULL,
    actor_id     UUID,
    journey_id   UUID,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX stage_history_customer ON stage_history (tenant_id, customer_id, at);

-- Date-property triggers scan once per journey and local day (a second scan the same day could enrol a
-- customer whose first run already ended).
CREATE TABLE journey_date_scans (
    tenant_id   UUID NOT NULL,
    journey_id  UUID NOT NULL,
    day         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, journey_id, day)
);

CREATE TABLE event_listens (
    tenant_id  UUID NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, name)
);

CREATE TABLE journey_signals (
    tenant_id    UUID NOT NULL,
    id           UUID NOT NULL,
    customer_id  UUID NOT NULL,
    -- `timeline`, `event` or `segment`.
    source       TEXT NOT NULL,
    -- The timeline kind, the event's name, or `segment_enter` / `segment_exit`.
    kind         TEXT NOT NULL,
    -- The segment of a segment signal.
    ref_id       UUID,
    payload      JSONB,
    at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX journey_signals_order ON journey_signals (tenant_id, at, id);

CREATE FUNCTION timeline_signal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO journey_signals (tenant_id, id, customer_id, source, kind, payload, at)
    VALUES (NEW.tenant_id, NEW.id, NEW.customer_id, 'timeline', NEW.kind, NEW.payload, NEW.occurred_at)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER timeline_signal AFTER INSERT ON timeline FOR EACH ROW
    WHEN (NEW.kind IN ('customer_created', 'tag_added', 'tag_removed', 'order_imported', 'order_status_changed',
                       'consent_changed', 'stage_changed', 'follow_added', 'task_completed', 'message_sent',
                       'message_failed'))
    EXECUTE FUNCTION timeline_signal();

CREATE FUNCTION segment_signal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO journey_signals (tenant_id, id, customer_id, source, kind, ref_id, at)
    VALUES (NEW.tenant_id, gen_random_uuid(), NEW.customer_id, 'segment', 'segment_' || NEW.op, NEW.segment_id, NEW.at);
    RETURN NULL;
END $$;
CREATE TRIGGER segment_signal AFTER INSERT ON segment_changes FOR EACH ROW
    WHEN (NEW.reason <> 'initial')
    EXECUTE FUNCTION segment_signal();

CREATE FUNCTION event_signal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM event_listens WHERE tenant_id = NEW.tenant_id AND name = NEW.name) THEN
        INSERT INTO journey_signals (tenant_id, id, customer_id, source, kind, payload, at)
        VALUES (NEW.tenant_id, NEW.id, NEW.customer_id, 'event', NEW.name, NEW.payload, NEW.event_time)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER event_signal AFTER UPDATE OF customer_id ON events FOR EACH ROW
    WHEN (OLD.customer_id IS NULL AND NEW.customer_id IS NOT NULL AND NEW.type = 'track')
    EXECUTE FUNCTION event_signal();
