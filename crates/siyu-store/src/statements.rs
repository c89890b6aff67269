//! Statements written from several places, as macros that build the query for whichever backend's
//! executor runs them (the SQL text is the same on both). Keeping each in one place keeps the column lists
//! of the create, merge and change paths from drifting apart.

/// `INSERT` of one identity row (`$r: &IdentityRecord`) for `$customer`.
macro_rules! insert_identity {
    ($tenant:expr, $customer:expr, $r:expr) => {{
        let r: &$crate::identities::IdentityRecord = $r;
        let i = &r.identity;
        sqlx::query(
            "INSERT INTO identities (tenant_id, id, customer_id, kind, namespace, lookup, value_enc, display, source, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind($tenant.0)
        .bind(i.id.0)
        .bind($customer.0)
        .bind(i.kind.as_str())
        .bind(i.namespace.clone())
        .bind(r.lookup.clone())
        .bind(r.value_enc.clone())
        .bind(i.display.clone())
        .bind(i.source.clone())
        .bind(i.created_at)
    }};
}
pub(crate) use insert_identity;

/// `INSERT` of one customer row (`$c: &Customer`).
macro_rules! insert_customer {
    ($tenant:expr, $c:expr) => {{
        let c: &siyu_domain::customer::Customer = $c;
        sqlx::query(
            "INSERT INTO customers (tenant_id, id, name, gender, avatar_url, remark, source, custom, created_at, \
             updated_at, last_active_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind($tenant.0)
        .bind(c.id.0)
        .bind(c.name.clone())
        .bind(c.gender.as_str())
        .bind(c.avatar_url.clone())
        .bind(c.remark.clone())
        .bind(c.source.clone())
        .bind(sqlx::types::Json(c.custom.clone()))
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(c.last_active_at)
    }};
}
pub(crate) use insert_customer;

/// `INSERT` of one timeline entry (`$e: &TimelineEntry`).
macro_rules! insert_timeline {
    ($tenant:expr, $e:expr) => {{
        let e: &siyu_domain::timeline::TimelineEntry = $e;
        sqlx::query(
            "INSERT INTO timeline (tenant_id, id, customer_id, occurred_at, source, kind, actor_id, payload) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind($tenant.0)
        .bind(e.id.0)
        .bind(e.customer_id.0)
        .bind(e.occurred_at)
        .bind(e.source.clone())
        .bind(e.kind.clone())
        .bind(e.actor_id.map(|a| a.0))
        .bind(sqlx::types::Json(e.payload.clone()))
    }};
}
pub(crate) use insert_timeline;

/// `UPDATE` of a customer's profile columns (`$c: &Customer`).
macro_rules! update_customer {
    ($tenant:expr, $c:expr) => {{
        let c: &siyu_domain::customer::Customer = $c;
        sqlx::query(
            "UPDATE customers SET name = $3, gender = $4, avatar_url = $5, remark = $6, custom = $7, updated_at = $8 \
             WHERE tenant_id = $1 AND id = $2",
        )
        .bind($tenant.0)
        .bind(c.id.0)
        .bind(c.name.clone())
        .bind(c.gender.as_str())
        .bind(c.avatar_url.clone())
        .bind(c.remark.clone())
        .bind(sqlx::types::Json(c.custom.clone()))
        .bind(c.updated_at)
    }};
}
pub(crate) use update_customer;

/// Applies one tag change (`$t: &TagChange`) to `$customer` inside the transaction `$tx`, with its history row
/// and timeline entry. Evaluates to whether anything changed (adding a held tag or removing a missing one
/// changes nothing and records nothing).
macro_rules! apply_tag_change {
    ($tx:ident, $tenant:expr, $customer:expr, $t:expr, $ctx:expr) => {{
        let t: &$crate::tags::TagChange = $t;
        let ctx: &$crate::tags::ChangeContext<'_> = $ctx;
        let done = if t.add {
            sqlx::query(
                "INSERT INTO customer_tags (tenant_id, customer_id, tag_id, added_by, added_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (tenant_id, customer_id, tag_id) DO NOTHING",
            )
            .bind($tenant.0)
            .bind($customer.0)
            .bind(t.tag.0)
            .bind(ctx.actor.map(|a| a.0))
            .bind(ctx.at)
            .execute(&mut *$tx)
            .await?
        } else {
            sqlx::query("DELETE FROM customer_tags WHERE tenant_id = $1 AND customer_id = $2 AND tag_id = $3")
                .bind($tenant.0)
                .bind($customer.0)
                .bind(t.tag.0)
                .execute(&mut *$tx)
                .await?
        };
        let changed = done.rows_affected() > 0;
        if changed {
            sqlx::query(
                "INSERT INTO tag_history (tenant_id, id, customer_id, tag_id, tag_name, op, actor_id, reason, at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind($tenant.0)
            .bind(uuid::Uuid::now_v7())
            .bind($customer.0)
            .bind(t.tag.0)
            .bind(t.tag_name.clone())
            .bind(if t.add { "add" } else { "remove" })
            .bind(ctx.actor.map(|a| a.0))
            .bind(ctx.reason)
            .bind(ctx.at)
            .execute(&mut *$tx)
            .await?;
            let entry = siyu_domain::timeline::TimelineEntry {
                id: siyu_domain::id::TimelineId::new(),
                customer_id: $customer,
                occurred_at: ctx.at,
                source: ctx.source.to_string(),
                kind: if t.add { siyu_domain::timeline::kinds::TAG_ADDED } else { siyu_domain::timeline::kinds::TAG_REMOVED }
                    .to_string(),
                actor_id: ctx.actor,
                payload: serde_json::json!({ "tag_id": t.tag, "tag": t.tag_name, "reason": ctx.reason }),
            };
            $crate::statements::insert_timeline!($tenant, &entry).execute(&mut *$tx).await?;
        }
        changed
    }};
}
pub(crate) use apply_tag_change;
