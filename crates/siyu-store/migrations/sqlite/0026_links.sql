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
-- SQLite dialect.

ALTER TABLE tenants ADD COLUMN link_key TEXT;
CREATE UNIQUE INDEX tenants_link_key ON tenants (link_key);

CREATE TABLE links (
    tenant_id       BLOB NOT NULL REFERENCES tenants (tenant_id),
    id              BLOB NOT NULL,
    code            TEXT NOT NULL,
    triple_key      TEXT NOT NULL,
    material_id     BLOB,
    url             TEXT,
    title           TEXT NOT NULL,
    staff_id        BLOB NOT NULL,
    customer_id     BLOB,
    open_tag_id     BLOB,
    show_page       INTEGER NOT NULL DEFAULT 0,
    opens           INTEGER NOT NULL DEFAULT 0,
    last_opened_at  TEXT,
    created_by      BLOB,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX links_code ON links (tenant_id, code);
CREATE UNIQUE INDEX links_triple ON links (tenant_id, triple_key);
CREATE INDEX links_staff ON links (tenant_id, staff_id, created_at);
CREATE INDEX links_customer ON links (tenant_id, customer_id);
CREATE INDEX links_material ON links (tenant_id, material_id);

CREATE TABLE link_opens (
    tenant_id      BLOB NOT NULL REFERENCES tenants (tenant_id),
    id             BLOB NOT NULL,
    link_id        BLOB NOT NULL,
    dedupe_key     TEXT NOT NULL,
    customer_id    BLOB,
    staff_id       BLOB NOT NULL,
    opened_at      TEXT NOT NULL,
    user_agent     TEXT,
    ip_hash        TEXT,
    in_wechat      INTEGER NOT NULL DEFAULT 0,
    duration_secs  INTEGER NOT NULL DEFAULT 0,
    last_beat_at   TEXT,
    effects_done   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX link_opens_dedupe ON link_opens (tenant_id, dedupe_key);
CREATE INDEX link_opens_link ON link_opens (tenant_id, link_id, opened_at);
CREATE INDEX link_opens_time ON link_opens (tenant_id, opened_at);
-- Opens whose effects a crash or an error left unfinished, for the worker's sweep.
CREATE INDEX link_opens_unfinished ON link_opens (tenant_id, effects_done, opened_at);
CREATE INDEX link_opens_customer ON link_opens (tenant_id, customer_id);

-- A link opened by a known customer is a journey signal (event `link_opened`), like the kinds of 0013.
CREATE TRIGGER link_opened_signal AFTER INSERT ON timeline
    WHEN NEW.kind = 'link_opened'
BEGIN
    INSERT OR IGNORE INTO journey_signals (tenant_id, id, customer_id, source, kind, payload, at)
    VALUES (NEW.tenant_id, NEW.id, NEW.customer_id, 'timeline', NEW.kind, NEW.payload, NEW.occurred_at);
END;
