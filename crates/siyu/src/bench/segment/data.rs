//! The data `siyu bench segment` runs over: one tenant's `customers`, `customer_aggregates` and
//! `customer_tags` in a SQLite file made by the real migrations, and the same rows as CSV files for DuckDB,
//! written in one pass (rusqlite, cached single-row INSERTs, 100,000 rows a transaction).
//!
//! Customers were created over three years before [`now`] (UUIDv7 ids in creation order), with Chinese
//! names of two or three characters (not unique, in no order); 48 % are female, 45 % male; 0.1 % erased. Every customer has an aggregates row: 40 % never ordered, the others
//! 1 + a geometric number of orders (mean 2.2) of ¥20–¥800 each. Six tags A–F of one group are held by
//! 30, 20, 10, 10, 10 and 10 % of the customers, independently. The same size and seed give the same rows.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, SecondsFormat, TimeZone, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use siyu_store::{ConnectOptions, Store};
use uuid::Uuid;

use super::super::report::thousands;

/// The tags and the share of customers holding each.
pub const TAGS: [(&str, f64); 6] = [("A", 0.30), ("B", 0.20), ("C", 0.10), ("D", 0.10), ("E", 0.10), ("F", 0.10)];
pub const TAG_GROUP: &str = "bench";
const BATCH: u64 = 100_000;
const PLATFORMS: [&str; 4] = ["taobao", "jd", "own_mall", "douyin"];
const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗",
    "高",
];
const GIVEN: [&str; 24] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀", "霞",
    "平", "刚", "桂", "英", "华",
];

/// A generated data set: where it is and what it holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DataSet {
    #[serde(skip)]
    pub db: PathBuf,
    #[serde(skip)]
    pub dir: PathBuf,
    pub customers: u64,
    pub seed: u64,
    pub tenant: Uuid,
    /// Tag id and name, in [`TAGS`] order.
    pub tags: Vec<(Uuid, String)>,
    pub now: DateTime<Utc>,
    pub customer_tags: u64,
    pub generated_s: f64,
}

/// The end of the generated history, and the clock the rule is evaluated at.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).single().unwrap_or_default()
}

/// The data set for `customers` and `seed` under `dir`: reused when complete, else generated.
pub async fn ensure(dir: &Path, customers: u64, seed: u64) -> anyhow::Result<DataSet> {
    let dir = dir.join(format!("customers-{customers}-seed{seed}"));
    let meta = dir.join("data.json");
    let db = dir.join("siyu.db");
    let described = std::fs::read(&meta).ok().and_then(|b| serde_json::from_slice::<DataSet>(&b).ok());
    if let Some(mut data) = described.filter(|_| db.exists()) {
        println!("data: reusing {} ({} customers)", dir.display(), thousands(data.customers as f64));
        (data.db, data.dir) = (db, dir);
        return Ok(data);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let store = Store::connect(&ConnectOptions::new(format!("sqlite://{}", db.display()))).await?;
    store.migrate().await?;
    store.close().await;
    let started = std::time::Instant::now();
    let (db2, dir2) = (db.clone(), dir.clone());
    let mut data = tokio::task::spawn_blocking(move || fill(&db2, &dir2, customers, seed)).await??;
    data.generated_s = started.elapsed().as_secs_f64();
    std::fs::write(&meta, serde_json::to_vec_pretty(&data)?)?;
    (data.db, data.dir) = (db, dir);
    println!(
        "data: {} customers, {} customer tags in {:.0} s ({})",
        thousands(customers as f64),
        thousands(data.customer_tags as f64),
        data.generated_s,
        data.dir.display()
    );
    Ok(data)
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// A CSV field: quoted when it holds a comma or a quote.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

fn opt(t: Option<&String>) -> &str {
    t.map_or("", String::as_str)
}

struct Csv {
    customers: BufWriter<File>,
    aggregates: BufWriter<File>,
    tags: BufWriter<File>,
}

impl Csv {
    fn create(dir: &Path) -> anyhow::Result<Self> {
        let open = |name: &str, header: &str| -> anyhow::Result<BufWriter<File>> {
            let mut w = BufWriter::with_capacity(1 << 20, File::create(dir.join(name))?);
            writeln!(w, "{header}")?;
            Ok(w)
        };
        Ok(Self {
            customers: open(
                "customers.csv",
                "tenant_id,id,name,gender,avatar_url,remark,source,custom,created_at,updated_at,last_active_at,erased_at",
            )?,
            aggregates: open(
                "customer_aggregates.csv",
                "tenant_id,customer_id,order_count,order_days,paid_fen,refund_fen,avg_paid_fen,first_order_at,\
                 last_order_at,event_count,first_seen_at,last_active_at,product_count,platforms,products,channels,\
                 computed_at",
            )?,
            tags: open("customer_tags.csv", "tenant_id,customer_id,tag_id,added_by,added_at")?,
        })
    }
}

/// Inserts the rows into the migrated file at `db` and writes the CSVs next to it.
fn fill(db: &Path, dir: &Path, customers: u64, seed: u64) -> anyhow::Result<DataSet> {
    let mut conn = rusqlite::Connection::open(db)?;
    conn.execute_batch("PRAGMA synchronous = OFF; PRAGMA cache_size = -1048576; PRAGMA temp_store = MEMORY;")?;
    let mut rng = StdRng::seed_from_u64(seed);
    let now = now();
    let mut random_id = || uuid::Builder::from_random_bytes(rng.r#gen()).into_uuid();
    let tenant = random_id();
    let group = random_id();
    let tags: Vec<(Uuid, String)> = TAGS.iter().map(|(name, _)| (random_id(), (*name).to_string())).collect();
    {
        let tx = conn.transaction()?;
        let start = time(now - Duration::days(3 * 365 + 30));
        tx.execute(
            "INSERT INTO tenants (tenant_id, name, status, timezone, data_key, created_at) \
             VALUES (?1, 'segment bench', 'active', 'Asia/Shanghai', zeroblob(32), ?2)",
            rusqlite::params![tenant.as_bytes().as_slice(), start],
        )?;
        tx.execute(
            "INSERT INTO tag_groups (tenant_id, id, name, kind, owner_id, exclusive, sort, created_at) \
             VALUES (?1, ?2, ?3, 'enterprise', NULL, 0, 0, ?4)",
            rusqlite::params![tenant.as_bytes().as_slice(), group.as_bytes().as_slice(), TAG_GROUP, start],
        )?;
        for (i, (id, name)) in tags.iter().enumerate() {
            tx.execute(
                "INSERT INTO tags (tenant_id, id, group_id, name, sort, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![
                    tenant.as_bytes().as_slice(),
                    id.as_bytes().as_slice(),
                    group.as_bytes().as_slice(),
                    name,
                    i as i64,
                    start
                ],
            )?;
        }
        tx.commit()?;
    }
    let bar = ProgressBar::new(customers).with_style(
        ProgressStyle::with_template(
            "data [{bar:40.cyan/blue}] {human_pos}/{human_len} customers, {per_sec}, eta {eta}",
        )?
        .progress_chars("=> "),
    );
    let mut csv = Csv::create(dir)?;
    let mut writer = Writer { rng, tenant, tags: &tags, now, customers, customer_tags: 0 };
    let mut n = 0;
    while n < customers {
        let end = (n + BATCH).min(customers);
        let tx = conn.transaction()?;
        for i in n..end {
            writer.customer(&tx, &mut csv, i)?;
        }
        tx.commit()?;
        n = end;
        bar.set_position(n);
    }
    csv.customers.flush()?;
    csv.aggregates.flush()?;
    csv.tags.flush()?;
    bar.finish_and_clear();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    let customer_tags = writer.customer_tags;
    Ok(DataSet {
        db: db.to_path_buf(),
        dir: dir.to_path_buf(),
        customers,
        seed,
        tenant,
        tags,
        now,
        customer_tags,
        generated_s: 0.0,
    })
}

struct Writer<'a> {
    rng: StdRng,
    tenant: Uuid,
    tags: &'a [(Uuid, String)],
    now: DateTime<Utc>,
    customers: u64,
    customer_tags: u64,
}

impl Writer<'_> {
    /// One customer with its aggregates and tags, into the database and the CSVs.
    fn customer(&mut self, tx: &rusqlite::Transaction<'_>, csv: &mut Csv, i: u64) -> anyhow::Result<()> {
        let rng = &mut self.rng;
        let span_ms = 3.0 * 365.0 * 86_400_000.0;
        let created = self.now - Duration::days(3 * 365)
            + Duration::milliseconds((span_ms * i as f64 / self.customers as f64) as i64);
        let mut tail = [0u8; 10];
        rng.fill(&mut tail);
        let id = uuid::Builder::from_unix_timestamp_millis(created.timestamp_millis() as u64, &tail).into_uuid();
        let gender = match rng.gen_range(0..100) {
            0..48 => "female",
            48..93 => "male",
            _ => "unknown",
        };
        let age_ms = (self.now - created).num_milliseconds().max(1);
        let later = |rng: &mut StdRng| created + Duration::milliseconds(rng.gen_range(0..age_ms));
        let last_active = rng.gen_bool(0.7).then(|| time(later(rng)));
        let erased = rng.gen_bool(0.001).then(|| time(later(rng)));
        let created_text = time(created);
        let mut name = SURNAMES[rng.gen_range(0..SURNAMES.len())].to_string();
        for _ in 0..rng.gen_range(1..=2) {
            name.push_str(GIVEN[rng.gen_range(0..GIVEN.len())]);
        }
        let (t, c) = (self.tenant.as_bytes().as_slice(), id.as_bytes().as_slice());
        tx.prepare_cached(
            "INSERT INTO customers (tenant_id, id, name, gender, avatar_url, remark, source, custom, created_at, \
             updated_at, last_active_at, erased_at) VALUES (?1, ?2, ?3, ?4, NULL, NULL, 'import', '{}', ?5, ?5, ?6, ?7)",
        )?
        .execute(rusqlite::params![t, c, name, gender, created_text, last_active, erased])?;
        writeln!(
            csv.customers,
            "{},{id},{name},{gender},,,import,{{}},{created_text},{created_text},{},{}",
            self.tenant,
            opt(last_active.as_ref()),
            opt(erased.as_ref())
        )?;

        let orders: i64 = if rng.gen_bool(0.4) {
            0
        } else {
            let mut n = 1;
            while rng.gen_bool(0.55) && n < 60 {
                n += 1;
            }
            n
        };
        let days = if orders > 1 && rng.gen_bool(0.1) { orders - 1 } else { orders };
        let paid: i64 = (0..orders).map(|_| rng.gen_range(2_000..80_000)).sum();
        let refund = if orders > 0 && rng.gen_bool(0.1) { rng.gen_range(0..=paid / 2) } else { 0 };
        let average = if orders > 0 { paid / orders } else { 0 };
        let (first, last) = if orders > 0 {
            let (a, b) = (later(rng), later(rng));
            (Some(time(a.min(b))), Some(time(a.max(b))))
        } else {
            (None, None)
        };
        let events: i64 = rng.gen_range(0..50);
        let products = if orders > 0 { rng.gen_range(1..=orders * 2) } else { 0 };
        let platforms = if orders > 0 {
            format!("[\"{}\"]", PLATFORMS[rng.gen_range(0..PLATFORMS.len())])
        } else {
            "[]".to_string()
        };
        let computed = time(self.now);
        tx.prepare_cached(
            "INSERT INTO customer_aggregates (tenant_id, customer_id, order_count, order_days, paid_fen, refund_fen, \
             avg_paid_fen, first_order_at, last_order_at, event_count, first_seen_at, last_active_at, product_count, \
             platforms, products, channels, computed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, '[]', '[]', ?15)",
        )?
        .execute(rusqlite::params![
            t,
            c,
            orders,
            days,
            paid,
            refund,
            average,
            first,
            last,
            events,
            created_text,
            last_active,
            products,
            platforms,
            computed
        ])?;
        writeln!(
            csv.aggregates,
            "{},{id},{orders},{days},{paid},{refund},{average},{},{},{events},{created_text},{},{products},{},[],[],{computed}",
            self.tenant,
            opt(first.as_ref()),
            opt(last.as_ref()),
            opt(last_active.as_ref()),
            field(&platforms),
        )?;

        for ((tag, _), (_, share)) in self.tags.iter().zip(TAGS) {
            if !rng.gen_bool(share) {
                continue;
            }
            let added = time(later(rng));
            tx.prepare_cached(
                "INSERT INTO customer_tags (tenant_id, customer_id, tag_id, added_by, added_at) \
                 VALUES (?1, ?2, ?3, NULL, ?4)",
            )?
            .execute(rusqlite::params![t, c, tag.as_bytes().as_slice(), added])?;
            writeln!(csv.tags, "{},{id},{tag},,{added}", self.tenant)?;
            self.customer_tags += 1;
        }
        Ok(())
    }
}
