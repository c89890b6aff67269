//! The radar's figures grouped in SQL: equal to tallying every open in memory (totals, local days at a
//! UTC offset, links, staff, a data scope), and not capped however many opens there are.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, FixedOffset, Utc};
use siyu_domain::id::{CustomerId, LinkId, LinkOpenId, TenantId};
use siyu_store::Store;
use siyu_store::links::{NewLinkRow, NewOpen, OpenQuery, RadarFigures, RadarQuery, RadarRows};
use uuid::Uuid;

use crate::{now, tenant};

async fn link(store: &Store, t: TenantId, title: &str, staff: Uuid) -> LinkId {
    let id = LinkId::new();
    let code = format!("k{}", &id.0.simple().to_string()[17..]);
    let row = NewLinkRow {
        id,
        code: &code,
        triple_key: &code,
        material_id: None,
        url: Some("https://a.example.com"),
        title,
        staff_id: staff,
        customer_id: None,
        open_tag_id: None,
        show_page: false,
        created_by: None,
    };
    store.links().mint(t, &row, now()).await.unwrap();
    id
}

async fn open(
    store: &Store,
    t: TenantId,
    l: LinkId,
    staff: Uuid,
    customer: Option<Uuid>,
    at: DateTime<Utc>,
    secs: i64,
) {
    let id = LinkOpenId::new();
    let key = id.0.simple().to_string();
    let o = NewOpen {
        id,
        link_id: l,
        dedupe_key: &key,
        customer_id: customer.map(CustomerId),
        staff_id: staff,
        at,
        user_agent: None,
        ip_hash: None,
        in_wechat: false,
    };
    store.links().record_open(t, &o, None).await.unwrap();
    if secs > 0 {
        store.links().beat(t, l, id, secs, at).await.unwrap();
    }
}

/// The radar as the app computed it before: every open read and tallied.
async fn tallied(store: &Store, t: TenantId, q: &RadarQuery) -> RadarRows {
    let opens = store
        .links()
        .opens(
            t,
            &OpenQuery { since: Some(q.since), visible_staff: q.visible_staff.clone(), limit: 1_000_000, link: None },
        )
        .await
        .unwrap();
    let offset = FixedOffset::east_opt(q.offset_secs).unwrap();
    #[derive(Default)]
    struct Tally(i64, HashSet<Uuid>, i64, i64, String);
    let add = |x: &mut Tally, o: &siyu_store::links::OpenRow| {
        x.0 += 1;
        x.1.extend(o.customer_id);
        if o.duration_secs > 0 {
            x.2 += o.duration_secs;
            x.3 += 1;
        }
    };
    let fig = |x: &Tally| RadarFigures { opens: x.0, unique_customers: x.1.len() as i64, read_secs: x.2, reads: x.3 };
    let (mut all, mut days) = (Tally::default(), BTreeMap::<String, i64>::new());
    let (mut links, mut staff) = (HashMap::<Uuid, Tally>::new(), HashMap::<Uuid, Tally>::new());
    for o in &opens {
        add(&mut all, o);
        *days.entry(o.opened_at.with_timezone(&offset).format("%Y-%m-%d").to_string()).or_default() += 1;
        let l = links.entry(o.link_id).or_default();
        l.4.clone_from(&o.title);
        add(l, o);
        let s = staff.entry(o.staff_id).or_default();
        s.4 = o.staff_name.clone().unwrap_or_default();
        add(s, o);
    }
    let ranked = |map: HashMap<Uuid, Tally>, top: usize| {
        let mut rows: Vec<siyu_store::links::RadarGroupRow> = map
            .into_iter()
            .map(|(id, x)| siyu_store::links::RadarGroupRow {
                id,
                name: Some(x.4.clone()).filter(|n| !n.is_empty()),
                figures: fig(&x),
            })
            .collect();
        rows.sort_by(|a, b| {
            b.figures
                .opens
                .cmp(&a.figures.opens)
                .then(b.figures.unique_customers.cmp(&a.figures.unique_customers))
                .then(a.id.cmp(&b.id))
        });
        rows.truncate(top);
        rows
    };
    RadarRows {
        total: fig(&all),
        per_day: days.into_iter().collect(),
        links: ranked(links, q.top_links as usize),
        staff: ranked(staff, usize::MAX),
    }
}

async fn the_radar_grouped_in_sql_equals_tallying_every_open(store: Store) {
    let t = tenant(&store).await;
    let staff: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
    let customers: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let mut links = Vec::new();
    for i in 0..5 {
        links.push((link(&store, t, &format!("链接{i}"), staff[i % 3]).await, staff[i % 3]));
    }
    // 240 opens over ten days, one every 61 minutes (local days cross UTC days), some read, some anonymous.
    let base = now() - Duration::days(10) - Duration::hours(5);
    for i in 0..240_i64 {
        let (l, s) = links[(i * 7 % 5) as usize];
        let customer = if i % 4 == 3 { None } else { Some(customers[(i * 3 % 5) as usize]) };
        let secs = if i % 3 == 0 { 0 } else { i % 50 + 1 };
        open(&store, t, l, s, customer, base + Duration::minutes(i * 61), secs).await;
    }
    for (offset, visible, top) in
        [(8 * 3600, None, 20), (-5 * 3600 - 1800, None, 3), (0, Some(vec![staff[0], staff[2]]), 20)]
    {
        let q = RadarQuery {
            since: now() - Duration::days(7),
            visible_staff: visible,
            offset_secs: offset,
            top_links: top,
        };
        let sql = store.links().radar(t, &q).await.unwrap();
        assert!(sql.total.opens > 50 && sql.total.reads > 0, "{sql:?}");
        assert_eq!(sql, tallied(&store, t, &q).await, "offset {offset}");
    }
}

crate::conformance!(the_radar_grouped_in_sql_equals_tallying_every_open);

/// 100,001 opens written in one statement per backend (the old in-memory radar stopped at 100,000).
async fn many_opens(db: &siyu_store::testing::TestDb, t: TenantId, l: LinkId, staff: Uuid, customer: Uuid) {
    let at = now() - Duration::hours(1);
    if db.url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100001) \
             INSERT INTO link_opens (tenant_id, id, link_id, dedupe_key, customer_id, staff_id, opened_at, duration_secs) \
             SELECT $1, randomblob(16), $2, 'bulk' || i, CASE WHEN i % 2 = 0 THEN $3 END, $4, $5, i % 3 FROM n",
        )
        .bind(t.0)
        .bind(l.0)
        .bind(customer)
        .bind(staff)
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    } else {
        let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
        sqlx::query(
            "INSERT INTO link_opens (tenant_id, id, link_id, dedupe_key, customer_id, staff_id, opened_at, duration_secs) \
             SELECT $1, gen_random_uuid(), $2, 'bulk' || i, CASE WHEN i % 2 = 0 THEN $3::uuid END, $4, $5, i % 3 \
             FROM generate_series(1, 100001) AS i",
        )
        .bind(t.0)
        .bind(l.0)
        .bind(customer)
        .bind(staff)
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
}

#[tokio::test]
async fn the_radar_counts_every_open_beyond_the_hundred_thousand_the_old_tally_read() {
    for db in siyu_store::testing::TestDb::all().await.unwrap() {
        let store = db.store.clone();
        let t = tenant(&store).await;
        let staff = Uuid::now_v7();
        let l = link(&store, t, "爆款", staff).await;
        many_opens(&db, t, l, staff, Uuid::now_v7()).await;
        let q =
            RadarQuery { since: now() - Duration::days(1), visible_staff: None, offset_secs: 8 * 3600, top_links: 20 };
        let r = store.links().radar(t, &q).await.unwrap();
        // i % 3 over 1..=100001: 33,334 opens read 1 s, 33,334 read 2 s, 33,333 unread.
        assert_eq!(r.total, RadarFigures { opens: 100_001, unique_customers: 1, read_secs: 100_002, reads: 66_668 });
        assert_eq!(r.per_day.iter().map(|d| d.1).sum::<i64>(), 100_001);
        assert_eq!((r.links.len(), r.links[0].figures.opens, r.staff[0].figures.opens), (1, 100_001, 100_001));
    }
}
