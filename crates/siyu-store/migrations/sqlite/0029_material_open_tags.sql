-- A material's own "tag on open": tags given to a customer on their first open of any tracked link of the
-- material, besides the link's own open tag (applied in the same once-only path as the link's tag).
-- A tag deleted later is skipped when the tags are applied. Changed in place with the material's folder,
-- tags and audience (no new version).
-- SQLite dialect.

CREATE TABLE material_open_tags (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    material_id  BLOB NOT NULL,
    tag_id       BLOB NOT NULL,
    PRIMARY KEY (tenant_id, material_id, tag_id)
);
