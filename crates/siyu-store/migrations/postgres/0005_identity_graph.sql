-- The identity graph (cdp.md §2): identities are its nodes (each held by one customer); identity_edges is
-- the append-only log of identities observed together, with the evidence; a retraction is a new row in
-- identity_edge_retractions, never a delete. identity_merges records every time two customers became one
-- (with a snapshot of the absorbed customer and what moved, so an un-merge can restore it under the same
-- id), identity_unmerges every merge undone. merge_suggestions are the pairs an operator reviews.

-- Events: the identity an event was attributed through (un-merge re-attributes by it) and when the
-- resolver handled it; unresolved events are found through a partial index.
ALTER TABLE events ADD COLUMN identity_id UUID;
ALTER TABLE events ADD COLUMN resolved_at TIMESTAMPTZ;
CREATE INDEX events_unresolved ON events (tenant_id, id) WHERE resolved_at IS NULL;
CREATE INDEX events_identity ON events (tenant_id, identity_id) WHERE identity_id IS NOT NULL;

-- Masked phones (138****1234) are matched against the masked display of stored phones: a hint, never a merge.
CREATE INDEX identities_display ON identities (tenant_id, kind, display);

CREATE TABLE identity_edges (
    tenant_id    UUID NOT NULL,
    id           UUID NOT NULL,
    a_id         UUID NOT NULL,
    b_id         UUID NOT NULL,
    strength     TEXT NOT NULL CHECK (strength IN ('strong', 'weak')),
    source       TEXT NOT NULL,
    evidence     TEXT NOT NULL,
    observed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX identity_edges_pair ON identity_edges (tenant_id, a_id, b_id);
CREATE INDEX identity_edges_b ON identity_edges (tenant_id, b_id);

CREATE TABLE identity_edge_retractions (
    tenant_id     UUID NOT NULL,
    edge_id       UUID NOT NULL,
    unmerge_id    UUID,
    reason        TEXT NOT NULL,
    retracted_by  UUID,
    retracted_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, edge_id)
);

CREATE TABLE identity_merges (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    id           UUID NOT NULL,
    survivor_id  UUID NOT NULL,
    absorbed_id  UUID NOT NULL,
    rule         TEXT NOT NULL,
    evidence     TEXT NOT NULL,
    actor_id     UUID,
    at           TIMESTAMPTZ NOT NULL,
    snapshot     JSONB NOT NULL,
    moved        JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX identity_merges_survivor ON identity_merges (tenant_id, survivor_id, at);
CREATE INDEX identity_merges_absorbed ON identity_merges (tenant_id, absorbed_id, at);

CREATE TABLE identity_unmerges (
    tenant_id  UUID NOT NULL,
    id         UUID NOT NULL,
    merge_id   UUID NOT NULL,
    actor_id   UUID,
    reason     TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    detail     JSONB NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX identity_unmerges_merge ON identity_unmerges (tenant_id, merge_id);

-- customer_a < customer_b (byte order of the ids), so a pair has one row per reason.
CREATE TABLE merge_suggestions (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    id           UUID NOT NULL,
    customer_a   UUID NOT NULL,
    customer_b   UUID NOT NULL,
    reason       TEXT NOT NULL,
    evidence     JSONB NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'accepted', 'rejected', 'obsolete')),
    created_at   TIMESTAMPTZ NOT NULL,
    decided_at   TIMESTAMPTZ,
    decided_by   UUID,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX merge_suggestions_pair ON merge_suggestions (tenant_id, customer_a, customer_b, reason);
CREATE INDEX merge_suggestions_status ON merge_suggestions (tenant_id, status, created_at DESC);

-- One resolver per tenant at a time, on any node: a lease row.
CREATE TABLE identity_resolver_leases (
    tenant_id     UUID NOT NULL,
    holder        TEXT NOT NULL,
    locked_until  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id)
);

-- Orders whose buyer matched no one wait for a later identity: when identity resolution gives a customer
-- one of their buyer keys, they are linked (orders.buyer_keys holds [{kind, namespace, lookup}]).
CREATE INDEX orders_waiting ON orders (tenant_id, placed_at) WHERE customer_id IS NULL;
