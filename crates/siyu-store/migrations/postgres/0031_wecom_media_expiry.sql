-- The worker's sweep deletes each tenant's WeCom media_ids past their expiry (`wecom_media.expires_at`):
-- an index per tenant by expiry, so the sweep reads only the expired rows.
-- PostgreSQL dialect.

CREATE INDEX wecom_media_expiry ON wecom_media (tenant_id, expires_at);
