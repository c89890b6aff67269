-- Staff tasks (reference/journeys.md §3, "Action: task"): a to-do for the customer's owning staff member (the
-- earliest follow; NULL when no one follows the customer), created by a journey's task node once per step
-- (its dedupe key: a retried delivery finds the row and creates nothing), completed by the staff member.
-- Creation and completion are written to the customer's timeline in the same transaction.
-- And each tenant's webhook signing secret (encrypted with the tenant's data key), what journey webhooks
-- sign their bodies with.
-- PostgreSQL dialect.

CREATE TABLE staff_tasks (
    tenant_id    UUID NOT NULL REFERENCES tenants (tenant_id),
    id           UUID NOT NULL,
    customer_id  UUID NOT NULL,
    assignee_id  UUID,
    title        TEXT NOT NULL,
    due_at       TIMESTAMPTZ NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('open', 'done', 'cancelled')),
    journey_id   UUID,
    node         TEXT,
    -- The journey step's dedupe key (NULL for a task made by hand).
    dedupe_key   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    done_at      TIMESTAMPTZ,
    done_by      UUID,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX staff_tasks_dedupe ON staff_tasks (tenant_id, dedupe_key);
CREATE INDEX staff_tasks_assignee ON staff_tasks (tenant_id, assignee_id, status, due_at);
CREATE INDEX staff_tasks_status ON staff_tasks (tenant_id, status, due_at);
CREATE INDEX staff_tasks_customer ON staff_tasks (tenant_id, customer_id, created_at);

CREATE TABLE webhook_secrets (
    tenant_id   UUID NOT NULL REFERENCES tenants (tenant_id),
    secret_enc  BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id)
);
