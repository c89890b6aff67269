-- Orders imported from platform exports (淘宝/天猫, 京东, 拼多多, 有赞, 抖店, generic files): one row per
-- (platform, shop, platform order id), its lines, and the append-only history of its status.
-- SQLite dialect: UUIDs are 16-byte BLOBs, times RFC 3339 TEXT in UTC, JSON TEXT, money INTEGER fen.
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
    tenant_id               BLOB NOT NULL REFERENCES tenants (tenant_id),
    id                      BLOB NOT NULL,
    platform                TEXT NOT NULL,
    shop                    TEXT NOT NULL,
    platform_order_id       TEXT NOT NULL,
    customer_id             BLOB,
    match_method            TEXT,
    status                  TEXT NOT NULL CHECK (status IN ('pending_payment', 'paid', 'shipped', 'received',
                                                            'refunded', 'partially_refunded', 'closed')),
    placed_at               TEXT NOT NULL,
    ordered_at              TEXT,
    paid_at                 TEXT,
    shipped_at              TEXT,
    finished_at             TEXT,
    total_fen               INTEGER NOT NULL CHECK (total_fen >= 0),
    discount_fen            INTEGER NOT NULL CHECK (discount_fen >= 0),
    shipping_fen            INTEGER NOT NULL CHECK (shipping_fen >= 0),
    paid_fen                INTEGER NOT NULL CHECK (paid_fen >= 0),
    refunded_fen            INTEGER NOT NULL CHECK (refunded_fen >= 0 AND refunded_fen <= paid_fen),
    fingerprint             TEXT NOT NULL,
    buyer_nick              TEXT,
    buyer_keys              TEXT NOT NULL,
    hints                   TEXT NOT NULL,
    receiver_name_enc       BLOB,
    receiver_phone_enc      BLOB,
    receiver_phone_kind     TEXT,
    receiver_phone_display  TEXT,
    receiver_phone_lookup   TEXT,
    receiver_address_enc    BLOB,
    import_id               BLOB,
    created_at              TEXT NOT NULL,
    updated_at              TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX orders_key ON orders (tenant_id, platform, shop, platform_order_id);
CREATE INDEX orders_customer ON orders (tenant_id, customer_id, placed_at DESC, id DESC)
    WHERE customer_id IS NOT NULL;
CREATE INDEX orders_receiver_phone ON orders (tenant_id, receiver_phone_lookup)
    WHERE receiver_phone_lookup IS NOT NULL;

CREATE TRIGGER orders_unmatch_deleted_customer AFTER DELETE ON customers
BEGIN
    UPDATE orders SET customer_id = NULL, match_method = NULL
    WHERE tenant_id = OLD.tenant_id AND customer_id = OLD.id;
END;

-- line_no is the line's position in the order (0-based); source_line the file row it came from.
CREATE TABLE order_lines (
    tenant_id       BLOB NOT NULL,
    order_id        BLOB NOT NULL,
    line_no         INTEGER NOT NULL,
    line_id         TEXT,
    sku_id          TEXT,
    product_id      TEXT,
    title           TEXT,
    spec            TEXT,
    quantity        INTEGER NOT NULL CHECK (quantity >= 0),
    unit_price_fen  INTEGER,
    paid_fen        INTEGER NOT NULL CHECK (paid_fen >= 0),
    refund          TEXT NOT NULL CHECK (refund IN ('none', 'in_progress', 'partial', 'full')),
    refunded_fen    INTEGER NOT NULL CHECK (refunded_fen >= 0),
    source_line     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, order_id, line_no),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id) ON DELETE CASCADE
);

-- Append-only: one row per status an order took (from_status NULL for the first import). Ids are UUIDv7,
-- so id order is the order of events.
CREATE TABLE order_status_history (
    tenant_id    BLOB NOT NULL,
    order_id     BLOB NOT NULL,
    id           BLOB NOT NULL,
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    at           TEXT NOT NULL,
    import_id    BLOB,
    PRIMARY KEY (tenant_id, order_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id) ON DELETE CASCADE
);
CREATE TRIGGER order_status_history_append_only BEFORE UPDATE ON order_status_history
BEGIN
    SELECT RAISE(ABORT, 'order_status_history is append-only');
END;
