-- Tracked links and the interaction radar (互动雷达): a link is minted once per (target × staff × customer),
-- the target a material (its id, no foreign key: materials live in their own migration) or an https URL with
-- a title; the customer may be absent (a staff member's link for anyone). `triple_key` is the hash of that
-- triple, unique per tenant, so minting twice gives the same link back. The public code is the tenant's
-- `link_key` followed by 64 random bits in base62; `/l/{code}` finds the tenant by its key (the platform
-- table `tenants`, a Citus reference table) and then the link by (tenant_id, code).
-- An open is unique by its dedupe key (link, visitor, half-hour window), so a retried request finds the
-- same open; `effects_done` marks that its tag, alert, timeline entry and usage count were made. The IP is
-- kept only as a keyed hash (PIPL). Link opens with a customer write a `link_opened` timeline entry whose
-- signal journeys react to.
-- PostgreSQL dialect.

ALTER TABLE tenants ADD COLUMN link_key TEXT;
CREATE UNIQUE INDEX tenants_link_key ON tenants (link_key);

CREATE TABLE links (
    tenant_id       UUID NOT NULL REFERENCES tenants (tenant_id),
    id              UUID NOT NULL,
    code            TEXT NOT NULL,
    triple_key      TEXT NOT NULL,
    material_id     UUID,
    url             TEXT,
    title           TEXT NOT NULL,
    staff_id        UUID NOT NULL,
    customer_id     UUID,
    open_tag_id     UUID,
    show_page       BOOLEAN NOT NULL DEFAULT FALSE,
    opens           BIGINT NOT NULL DEFAULT 0,
    last_opened_at  TIMESTAMPTZ,
    created_by      UUID,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX links_code ON links (tenant_id, code);
CREATE UNIQUE INDEX links_triple ON links (tenant_id, triple_key);
CREATE INDEX links_staff ON links (tenant_id, staff_id, created_at);
CREATE INDEX links_customer ON links (tenant_id, customer_id);
CREATE INDEX links_material ON links (tenant_id, material_id);

CREATE TABLE link_opens (
    tenant_id      UUID NOT NULL REFERENCES tenants (tenant_id),
    id             UUID NOT NULL,
    link_id        UUID NOT NULL,
    dedupe_key     TEXT NOT NULL,
    customer_id    UUID,
    staff_id       UUID NOT NULL,
    opened_at      TIMESTAMPTZ NOT NULL,
    user_agent     TEXT,
    ip_hash        TEXT,
    in_wechat      BOOLEAN NOT NULL DEFAULT FALSE,
    duration_secs  BIGINT NOT NULL DEFAULT 0,
    last_beat_at   TIMESTAMPTZ,
    effects_done   BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX link_opens_dedupe ON link_opens (tenant_id, dedupe_key);
CREATE INDEX link_opens_link ON link_opens (tenant_id, link_id, opened_at);
CREATE INDEX link_opens_time ON link_opens (tenant_id, opened_at);
-- Opens whose effects a crash or an error left unfinished, for the worker's sweep.
CREATE INDEX link_opens_unfinished ON link_opens (tenant_id, effects_done, opened_at);
CREATE INDEX link_opens_customer ON link_opens (tenant_id, customer_id);

-- A link opened by a known customer is a journey signal (event `link_opened`), like the kinds of 0013.
CREATE TRIGGER link_opened_signal AFTER INSERT ON timeline FOR EACH ROW
    WHEN (NEW.kind = 'link_opened')
    EXECUTE FUNCTION timeline_signal();
