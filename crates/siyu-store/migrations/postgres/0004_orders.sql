-- Orders imported from platform exports (淘宝/天猫, 京东, 拼多多, 有赞, 抖店, generic files): one row per
-- (platform, shop, platform order id), its lines, and the append-only history of its status.
-- PostgreSQL dialect: money BIGINT fen, identifiers JSONB.
--
-- customer_id is the matched customer (NULL while unmatched) and match_method how it was matched (unionid,
-- openid, platform_buyer, phone, prospect). buyer_keys holds the order's buyer identifiers as
-- [{kind, namespace, lookup}], phones as their blind index, so an unmatched order can be linked later.
-- The receiver's name, phone and address are AES-GCM ciphertext under the tenant key; receiver_phone_lookup
-- is the phone blind index (full mobiles only), receiver_phone_display the masked text. placed_at is
-- ordered_at, else paid_at, else the first import time (lists sort by it). import_id is the import job
-- (a fresh id for a CLI run). customer_id has no foreign key (a composite key cannot set only it to NULL
-- in SQLite): deleting a customer unmatches its orders through the trigger below.

CREATE TABLE orders (
    tenant_id               UUID NOT NULL REFERENCES tenants (tenant_id),
    id                      UUID NOT NULL,
    platform                TEXT NOT NULL,
    shop                    TEXT NOT NULL,
    platform_order_id       TEXT NOT NULL,
    customer_id             UUID,
    match_method            TEXT,
    status                  TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'shipped', 'received',
                                                            'refunded', 'partially_refunded', 'closed')),
    placed_at               TIMESTAMPTZ NOT NULL,
    ordered_at              TIMESTAMPTZ,
    paid_at                 TIMESTAMPTZ,
    shipped_at              TIMESTAMPTZ,
    finished_at             TIMESTAMPTZ,
    total_fen               BIGINT NOT NULL CHECK (total_fen >= 0),
    discount_fen            BIGINT NOT NULL CHECK (discount_fen >= 0),
    shipping_fen            BIGINT NOT NULL CHECK (shipping_fen >= 0),
    paid_fen                BIGINT NOT NULL CHECK (paid_fen >= 0),
    refunded_fen            BIGINT NOT NULL CHECK (refunded_fen >= 0 AND refunded_fen <= paid_fen),
    fingerprint             TEXT NOT NULL,
    buyer_nick              TEXT,
    buyer_keys              JSONB NOT NULL,
    hints                   JSONB NOT NULL,
    receiver_name_enc       BYTEA,
    receiver_phone_enc      BYTEA,
    receiver_phone_kind     TEXT,
    receiver_phone_display  TEXT,
    receiver_phone_lookup   TEXT,
    receiver_address_enc    BYTEA,
    import_id               UUID,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX orders_key ON orders (tenant_id, platform, shop, platform_order_id);
CREATE INDEX orders_customer ON orders (tenant_id, customer_id, placed_at DESC, id DESC)
    WHERE customer_id IS NOT NULL;
CREATE INDEX orders_receiver_phone ON orders (tenant_id, receiver_phone_lookup)
    WHERE receiver_phone_lookup IS NOT NULL;

CREATE FUNCTION orders_unmatch_deleted_customer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders SET customer_id = NULL, match_method = NULL
    WHERE tenant_id = OLD.tenant_id AND customer_id = OLD.id;
    RETURN OLD;
END;
$$;
CREATE TRIGGER orders_unmatch_deleted_customer AFTER DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION orders_unmatch_deleted_customer();

-- line_no is the line's position in the order (0-based); source_line the file row it came from.
CREATE TABLE order_lines (
    tenant_id       UUID NOT NULL,
    order_id        UUID NOT NULL,
    line_no         BIGINT NOT NULL,
    line_id         TEXT,
    sku_id          TEXT,
    product_id      TEXT,
    title           TEXT,
    spec            TEXT,
    quantity        BIGINT NOT NULL CHECK (quantity >= 0),
    unit_price_fen  BIGINT,
    paid_fen        BIGINT NOT NULL CHECK (paid_fen >= 0),
    refund          TEXT NOT NULL CHECK (refund IN ('none', 'in_progress', 'partial', 'full')),
    refunded_fen    BIGINT NOT NULL CHECK (refunded_fen >= 0),
    source_line     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, order_id, line_no),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id) ON DELETE CASCADE
);

-- Append-only: one row per status an order took (from_status NULL for the first import). Ids are UUIDv7,
-- so id order is the order of events.
CREATE TABLE order_status_history (
    tenant_id    UUID NOT NULL,
    order_id     UUID NOT NULL,
    id           UUID NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    at           TIMESTAMPTZ NOT NULL,
    import_id    UUID,
    PRIMARY KEY (tenant_id, order_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id) ON DELETE CASCADE
);
CREATE FUNCTION order_status_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'order_status_history is append-only';
END;
$$;
CREATE TRIGGER order_status_history_append_only BEFORE UPDATE ON order_status_history
    FOR EACH ROW EXECUTE FUNCTION order_status_history_append_only();
