-- Material library (素材库): texts, images, videos, files, links, mini-program cards and posters, filed in
-- folders, tagged, visible to all staff or only to some departments / named staff, versioned, and counted
-- as they are sent, opened and convert. File contents live in the blob store (content-addressed keys
-- `<tenant>/<sha256>`), never in the database; a version row keeps its blob keys so an old version can be
-- restored.
-- SQLite dialect.

CREATE TABLE material_folders (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    parent_id    BLOB,
    name         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX material_folders_parent ON material_folders (tenant_id, parent_id);

CREATE TABLE materials (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    id           BLOB NOT NULL,
    -- text, image, video, file, link, miniprogram, poster
    kind         TEXT NOT NULL,
    folder_id    BLOB,
    -- The current version's title (copied for lists and sorting).
    title        TEXT NOT NULL,
    version      INTEGER NOT NULL,
    created_by   BLOB,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX materials_updated ON materials (tenant_id, updated_at, id);
CREATE INDEX materials_folder ON materials (tenant_id, folder_id);

-- Every version of a material; the material's `version` names the current one. `content` holds the
-- kind's own fields as JSON (link url/desc/cover, mini-program appid/pagepath/cover, poster QR slot).
CREATE TABLE material_versions (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    material_id  BLOB NOT NULL,
    version      INTEGER NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    content      TEXT NOT NULL DEFAULT '{}',
    blob_key     TEXT,
    thumb_key    TEXT,
    file_name    TEXT,
    mime         TEXT,
    size_bytes   INTEGER,
    width        INTEGER,
    height       INTEGER,
    created_by   BLOB,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, material_id, version)
);
CREATE INDEX material_versions_blob ON material_versions (tenant_id, blob_key);

CREATE TABLE material_tags (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    material_id  BLOB NOT NULL,
    tag          TEXT NOT NULL,
    PRIMARY KEY (tenant_id, material_id, tag)
);
CREATE INDEX material_tags_tag ON material_tags (tenant_id, tag);

-- Who may see a material besides content managers: no row means all staff; otherwise the members of the
-- listed departments (and their sub-departments) and the listed staff.
CREATE TABLE material_audience (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    material_id  BLOB NOT NULL,
    -- 'department' or 'staff'
    kind         TEXT NOT NULL CHECK (kind IN ('department', 'staff')),
    target_id    BLOB NOT NULL,
    PRIMARY KEY (tenant_id, material_id, kind, target_id)
);

-- The usage ledger: each send, open and conversion once (dedupe_key), with the staff member and the
-- customer when known. `convert_until` is 7 days after `at`: an order placed before it, after the
-- customer's first open, counts as a conversion.
CREATE TABLE material_usage (
    tenant_id     BLOB NOT NULL REFERENCES tenants (tenant_id),
    id            BLOB NOT NULL,
    material_id   BLOB NOT NULL,
    action        TEXT NOT NULL CHECK (action IN ('sent', 'opened', 'converted')),
    user_id       BLOB,
    customer_id   BLOB,
    dedupe_key    TEXT NOT NULL,
    at            TEXT NOT NULL,
    convert_until TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX material_usage_dedupe ON material_usage (tenant_id, dedupe_key);
CREATE INDEX material_usage_material ON material_usage (tenant_id, material_id, action, at);
CREATE INDEX material_usage_customer ON material_usage (tenant_id, customer_id);
