-- WeCom temporary media (临时素材, `media/upload`): the media_id a material's file got in a corp, per
-- material version and variant ('' for the file itself; a poster drawn with a staff member's QR code is the
-- variant named by that member's user id), kept until shortly before WeCom forgets it (three days after the upload), so the
-- sidebar sends an image material with `sendChatMessage({msgtype: 'image'})` without uploading it again.
-- And what staff sent from the sidebar to a customer group: one row per (member, send id) like
-- `sidebar_sends`, which names a customer.
-- SQLite dialect.

CREATE TABLE wecom_media (
    tenant_id    BLOB NOT NULL REFERENCES tenants (tenant_id),
    corp_row_id  BLOB NOT NULL,
    material_id  BLOB NOT NULL,
    version      INTEGER NOT NULL,
    variant      TEXT NOT NULL,
    -- WeCom's media type: 'image' (later 'video', 'file').
    media_type   TEXT NOT NULL CHECK (media_type IN ('image', 'voice', 'video', 'file')),
    media_id     TEXT NOT NULL,
    uploaded_at  TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, corp_row_id, material_id, version, variant)
);

CREATE TABLE sidebar_group_sends (
    tenant_id  BLOB NOT NULL REFERENCES tenants (tenant_id),
    user_id    BLOB NOT NULL,
    send_id    TEXT NOT NULL,
    -- 'script' or 'material'.
    kind       TEXT NOT NULL CHECK (kind IN ('script', 'material')),
    object_id  BLOB NOT NULL,
    group_id   BLOB NOT NULL,
    sent_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, send_id)
);
CREATE INDEX sidebar_group_sends_group ON sidebar_group_sends (tenant_id, group_id, sent_at);
