-- Keyed event triggers (reference/journeys.md §3: "one instance per order_id"): a run remembers the value of
-- its journey's key property it was entered with ('' for runs of unkeyed journeys, so the unique index below
-- also holds them to one live run). One live run per (journey, customer, key value); a keyed wait is looked
-- up by (tenant, customer, wait event, key value).
-- SQLite dialect.
ALTER TABLE journey_instances ADD COLUMN entry_key TEXT NOT NULL DEFAULT '';

DROP INDEX journey_instances_live;
CREATE UNIQUE INDEX journey_instances_live ON journey_instances (tenant_id, journey_id, customer_id, entry_key)
    WHERE status IN ('running', 'waiting_time', 'waiting_event');

DROP INDEX journey_instances_waiting;
CREATE INDEX journey_instances_waiting ON journey_instances (tenant_id, customer_id, wait_event, entry_key)
    WHERE status = 'waiting_event';
