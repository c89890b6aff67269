-- Rule tags (cdp.md §6): a dynamic segment may name a tag its members hold automatically. Entering the
-- segment adds the tag, leaving removes it, both in the membership change's transaction. `via_segment` marks a
-- holding the rule made: only those are ever removed by it, so tags added by hand stay untouched.
-- PostgreSQL dialect.

ALTER TABLE segments ADD COLUMN rule_tag_id UUID;
-- One rule per tag: two segments driving one tag would take it from each other.
CREATE UNIQUE INDEX segments_rule_tag ON segments (tenant_id, rule_tag_id) WHERE rule_tag_id IS NOT NULL;

ALTER TABLE customer_tags ADD COLUMN via_segment UUID;

-- Customers whose data changed through a bulk path (imports, bulk tags, identity resolution, order imports,
-- merges): the worker re-evaluates their dynamic segments in batches and deletes the mark. Marking again
-- while a batch runs moves `marked_at`, so the later change is not lost.
CREATE TABLE segment_dirty (
    tenant_id    UUID NOT NULL,
    customer_id  UUID NOT NULL,
    marked_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (tenant_id, customer_id)
);
