//! One batch of an order import: compare with the stored orders, match buyers, seal the receiver, write.
//!
//! A batch is written in one transaction. When another import changed one of its orders in between (the
//! store's compare-and-set answers `orders_changed`), the batch is read and decided again, up to
//! [`ATTEMPTS`] times. Prospects are created before the batch is written, each in its own transaction; a
//! retried batch (or a re-run after a crash) finds them by their identities and matches them.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;
use siyu_domain::id::{CustomerId, JobId, OrderId, TimelineId};
use siyu_domain::identity::IdentityKind;
use siyu_domain::order::{BuyerKey, Order, OrderStatus, Platform, Receiver, StatusChange, reconcile};
use siyu_domain::timeline::{TimelineEntry, kinds};
use siyu_store::aggregates::RefreshAt;
use siyu_store::orders::{
    ORDERS_CHANGED, OrderBatch, OrderRecord, OrderWrite, SealedKey, SealedReceiver, StatusEvent, StoredOrder,
};
use uuid::Uuid;

use super::{OrderImportOptions, OrderImportReport};
use crate::crypto::TenantKeys;
use crate::customers::{IdentityInput, NewCustomerInput};
use crate::error::{AppError, AppResult};
use crate::{Actor, App};

/// How often a batch is decided again when other imports keep changing its orders.
const ATTEMPTS: usize = 3;
/// The match method of an order whose buyer became a prospect customer.
pub(super) const PROSPECT: &str = "prospect";
/// The source of prospects, their identities and the orders' timeline entries (of an import).
const SOURCE: &str = "order_import";
/// The match method of an order whose poster named its customer (`buyer.customer_id`).
pub(super) const NAMED: &str = "customer_id";

type Match = (CustomerId, String);

pub(crate) struct Importer<'a> {
    app: &'a App,
    actor: &'a Actor,
    keys: Arc<TenantKeys>,
    options: &'a OrderImportOptions,
    /// Recorded on every order and status history row the import writes.
    import_id: JobId,
    /// Who wrote it: `order_import`, or `api` for orders posted by the mall.
    source: &'static str,
    /// The customer every unmatched order of a batch goes to, when the poster named one.
    customer: Option<CustomerId>,
    /// The tenant's offset from UTC, for the aggregates refreshed with each batch.
    offset: chrono::FixedOffset,
}

impl<'a> Importer<'a> {
    pub async fn new(
        app: &'a App,
        actor: &'a Actor,
        options: &'a OrderImportOptions,
        import_id: JobId,
    ) -> AppResult<Self> {
        let keys = app.vault.keys(&app.store, actor.tenant).await?;
        let offset = app.tenant_offset(actor.tenant).await?;
        Ok(Self { app, actor, keys, options, import_id, source: SOURCE, customer: None, offset })
    }

    /// Orders posted through the API: written as `api`, and matched to `customer` when the poster named one.
    pub fn via_api(mut self, customer: Option<CustomerId>) -> Self {
        self.source = "api";
        self.customer = customer;
        self
    }

    /// Imports one batch of orders and adds its counts to `report`.
    pub async fn batch(&self, orders: &[Order], report: &mut OrderImportReport) -> AppResult<()> {
        let mut attempt = 1;
        loop {
            let (batch, tally) = self.decide(orders, &mut report.prospects).await?;
            match self.app.store.orders().write(self.actor.tenant, &batch).await {
                Ok(()) => {
                    report.absorb(&tally);
                    self.app.suggest_receivers(self.actor.tenant, &receivers(&batch)).await?;
                    return Ok(());
                }
                Err(e) if e.is_conflict_on(ORDERS_CHANGED) && attempt < ATTEMPTS => {
                    tracing::info!(attempt, "orders changed during import; batch decided again");
                    attempt += 1;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Decides what the batch writes. Creates prospects (counted in `prospects`) on the way.
    async fn decide(&self, orders: &[Order], prospects: &mut usize) -> AppResult<(OrderBatch, OrderImportReport)> {
        let now = self.app.now();
        let stored = self.stored(orders).await?;
        let known = |o: &Order| stored.get(&(o.platform, o.shop.clone(), o.order_id.clone()));
        let wanted: Vec<usize> = (0..orders.len())
            .filter(|i| orders.get(*i).is_some_and(|o| known(o).is_none_or(|s| s.customer_id.is_none())))
            .collect();
        let matches = self.match_buyers(orders, &wanted, prospects).await?;
        let (mut batch, mut tally) = (OrderBatch::default(), OrderImportReport::default());
        batch.aggregates = Some(RefreshAt { offset: self.offset, now });
        for (i, o) in orders.iter().enumerate() {
            let found = matches.get(&i).cloned();
            let fingerprint = o.fingerprint();
            let Some(s) = known(o) else {
                let placed = o.created_at.or(o.paid_at).unwrap_or(now);
                let record = self.record(o, OrderId::new(), found.clone(), fingerprint, placed, now, now)?;
                batch.history.push(self.status_event(record.order.id, None, o.status, now));
                if let Some((c, _)) = &found {
                    batch.timeline.push(self.imported(*c, &record.order, placed));
                }
                batch.writes.push(OrderWrite::Insert(record));
                tally.new += 1;
                count_match(&mut tally, found.is_some());
                continue;
            };
            let attach = if s.customer_id.is_none() { found } else { None };
            let customer = s.customer_id.or(attach.as_ref().map(|(c, _)| *c));
            count_match(&mut tally, customer.is_some());
            let change = if s.fingerprint == fingerprint { None } else { Some(reconcile(s.status, o.status)) };
            match change {
                None | Some(StatusChange::Kept { .. }) => {
                    if change.is_none() {
                        tally.unchanged += 1;
                    } else {
                        tally.kept_older += 1;
                    }
                    if let Some((c, method)) = attach {
                        batch.timeline.push(self.imported(c, s, s.placed_at));
                        batch.writes.push(OrderWrite::Attach { id: s.id, customer: c, method });
                    }
                }
                Some(StatusChange::Same | StatusChange::Moved { .. }) => {
                    let placed = o.created_at.or(o.paid_at).unwrap_or(s.placed_at);
                    let matched =
                        s.customer_id.map(|c| (c, s.match_method.clone().unwrap_or_default())).or(attach.clone());
                    let record = self.record(o, s.id, matched, fingerprint, placed, s.created_at, now)?;
                    if let Some((c, _)) = &attach {
                        batch.timeline.push(self.imported(*c, &record.order, placed));
                    }
                    if let Some(StatusChange::Moved { from, to }) = change {
                        batch.history.push(self.status_event(s.id, Some(from), to, now));
                        if let Some(c) = customer {
                            batch.timeline.push(self.status_changed(c, &record.order, from, now));
                        }
                        tally.status_changes += 1;
                    }
                    let expected_fingerprint = s.fingerprint.clone();
                    batch.writes.push(OrderWrite::Replace {
                        order: record,
                        expected_fingerprint,
                        expected_status: s.status,
                    });
                    tally.updated += 1;
                }
            }
        }
        Ok((batch, tally))
    }

    /// The stored orders among the batch's, by (platform, shop, platform order id).
    async fn stored(&self, orders: &[Order]) -> AppResult<HashMap<(Platform, String, String), OrderRecord>> {
        let mut groups: BTreeMap<(Platform, &str), Vec<String>> = BTreeMap::new();
        for o in orders {
            groups.entry((o.platform, o.shop.as_str())).or_default().push(o.order_id.clone());
        }
        let mut out = HashMap::new();
        for ((platform, shop), ids) in groups {
            for r in self.app.store.orders().find_many(self.actor.tenant, platform, shop, &ids).await? {
                out.insert((r.platform, r.shop.clone(), r.platform_order_id.clone()), r);
            }
        }
        Ok(out)
    }

    fn seal_key(&self, k: &BuyerKey) -> SealedKey {
        let lookup = if k.kind.is_pii() { self.keys.blind_index(k.kind, &k.value) } else { k.value.clone() };
        SealedKey { kind: k.kind, namespace: k.namespace.clone(), lookup }
    }

    /// The customer of each wanted order: its first buyer key (in precedence order) that belongs to a
    /// customer, else a new prospect when the options say so. Receiver and masked phones are not keys.
    async fn match_buyers(
        &self,
        orders: &[Order],
        wanted: &[usize],
        prospects: &mut usize,
    ) -> AppResult<HashMap<usize, Match>> {
        let mut lookups: HashMap<(IdentityKind, String), Vec<String>> = HashMap::new();
        for o in wanted.iter().filter_map(|i| orders.get(*i)) {
            for k in o.buyer.keys.iter().map(|k| self.seal_key(k)) {
                let list = lookups.entry((k.kind, k.namespace)).or_default();
                if !list.contains(&k.lookup) {
                    list.push(k.lookup);
                }
            }
        }
        let mut known: HashMap<SealedKey, CustomerId> = HashMap::new();
        for ((kind, namespace), list) in lookups {
            let ids = self.app.store.identities();
            for (lookup, c) in ids.resolve_many(self.actor.tenant, kind, &namespace, &list).await? {
                known.insert(SealedKey { kind, namespace: namespace.clone(), lookup }, c);
            }
        }
        let mut out = HashMap::new();
        for &i in wanted {
            let Some(o) = orders.get(i) else { continue };
            if let Some(c) = self.customer {
                out.insert(i, (c, NAMED.to_string()));
                continue;
            }
            let sealed: Vec<SealedKey> = o.buyer.keys.iter().map(|k| self.seal_key(k)).collect();
            if let Some((k, c)) = sealed.iter().find_map(|k| known.get(k).map(|c| (k, *c))) {
                out.insert(i, (c, k.kind.as_str().to_string()));
            } else if self.options.create_prospects && !sealed.is_empty() {
                let Some((c, method)) = self.prospect(o, &sealed).await? else { continue };
                *prospects += usize::from(method == PROSPECT);
                for k in sealed {
                    known.insert(k, c);
                }
                out.insert(i, (c, method));
            }
        }
        Ok(out)
    }

    /// Creates a prospect customer holding the buyer's identifiers (method `prospect`); when another import
    /// created a customer with one of them first, that customer and the key's kind; `None` when that
    /// customer cannot be found after all.
    async fn prospect(&self, o: &Order, sealed: &[SealedKey]) -> AppResult<Option<Match>> {
        let nick: String = o.buyer.nick.as_deref().unwrap_or("").chars().filter(|c| !c.is_control()).take(32).collect();
        let name = if nick.trim().is_empty() { format!("{}买家", o.platform.label()) } else { nick };
        let identities = o
            .buyer
            .keys
            .iter()
            .map(|k| IdentityInput {
                kind: k.kind,
                namespace: (!k.namespace.is_empty()).then(|| k.namespace.clone()),
                value: k.value.clone(),
            })
            .collect();
        let input = NewCustomerInput { name, identities, ..Default::default() };
        match self.app.create_customer_from(self.actor, input, self.source).await {
            Ok(c) => Ok(Some((c.id, PROSPECT.to_string()))),
            Err(AppError::DuplicateIdentity) => {
                for k in sealed {
                    let ids = self.app.store.identities();
                    if let Some(c) = ids.resolve(self.actor.tenant, k.kind, &k.namespace, &k.lookup).await? {
                        return Ok(Some((c, k.kind.as_str().to_string())));
                    }
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn seal_receiver(&self, r: &Receiver) -> AppResult<SealedReceiver> {
        let enc = |v: &Option<String>| v.as_deref().map(|s| self.keys.encrypt(s)).transpose();
        let phone = r.phone.as_ref();
        Ok(SealedReceiver {
            name_enc: enc(&r.name)?,
            phone_enc: phone.map(|p| self.keys.encrypt(&p.text)).transpose()?,
            phone_kind: phone.map(|p| p.kind),
            phone_display: phone.map(|p| p.masked()),
            phone_lookup: phone.and_then(|p| p.e164.as_deref()).map(|e| self.keys.blind_index(IdentityKind::Phone, e)),
            address_enc: enc(&r.address)?,
        })
    }

    /// The stored form of an order.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        o: &Order,
        id: OrderId,
        matched: Option<Match>,
        fingerprint: String,
        placed_at: DateTime<Utc>,
        created_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> AppResult<StoredOrder> {
        let (customer_id, match_method) = matched.unzip();
        let order = OrderRecord {
            id,
            platform: o.platform,
            shop: o.shop.clone(),
            platform_order_id: o.order_id.clone(),
            customer_id,
            match_method: match_method.filter(|m| !m.is_empty()),
            status: o.status,
            placed_at,
            ordered_at: o.created_at,
            paid_at: o.paid_at,
            shipped_at: o.shipped_at,
            finished_at: o.finished_at,
            total_fen: o.total_fen,
            discount_fen: o.discount_fen,
            shipping_fen: o.shipping_fen,
            paid_fen: o.paid_fen,
            refunded_fen: o.refunded_fen,
            fingerprint,
            buyer_nick: o.buyer.nick.clone(),
            buyer_keys: o.buyer.keys.iter().map(|k| self.seal_key(k)).collect(),
            hints: o.hints.clone(),
            receiver: self.seal_receiver(&o.receiver)?,
            import_id: Some(self.import_id),
            created_at,
            updated_at: now,
        };
        Ok(StoredOrder { order, lines: o.lines.clone() })
    }

    fn status_event(
        &self,
        order: OrderId,
        from: Option<OrderStatus>,
        to: OrderStatus,
        at: DateTime<Utc>,
    ) -> StatusEvent {
        StatusEvent { id: Uuid::now_v7(), order_id: order, from, to, at, import_id: Some(self.import_id) }
    }

    fn entry(&self, customer: CustomerId, kind: &str, at: DateTime<Utc>, payload: serde_json::Value) -> TimelineEntry {
        TimelineEntry {
            id: TimelineId::new(),
            customer_id: customer,
            occurred_at: at,
            source: self.source.into(),
            kind: kind.into(),
            actor_id: Some(self.actor.user),
            payload,
        }
    }

    /// `order_imported`, placed where the order was placed in the customer's timeline.
    fn imported(&self, customer: CustomerId, o: &OrderRecord, at: DateTime<Utc>) -> TimelineEntry {
        let payload = json!({"order_id": o.id, "platform": o.platform, "shop": o.shop,
            "platform_order_id": o.platform_order_id, "status": o.status, "paid_fen": o.paid_fen});
        self.entry(customer, kinds::ORDER_IMPORTED, at, payload)
    }

    fn status_changed(
        &self,
        customer: CustomerId,
        o: &OrderRecord,
        from: OrderStatus,
        at: DateTime<Utc>,
    ) -> TimelineEntry {
        let payload = json!({"order_id": o.id, "platform": o.platform, "platform_order_id": o.platform_order_id,
            "from": from, "to": o.status});
        self.entry(customer, kinds::ORDER_STATUS_CHANGED, at, payload)
    }
}

/// (customer, receiver phone blind index, masked receiver phone, order) of the batch's matched orders with a
/// full receiver mobile: candidates for `receiver_phone` merge suggestions.
fn receivers(batch: &OrderBatch) -> Vec<crate::graph::ReceiverPhone> {
    batch
        .writes
        .iter()
        .filter_map(|w| match w {
            OrderWrite::Insert(o) | OrderWrite::Replace { order: o, .. } => Some(&o.order),
            OrderWrite::Attach { .. } => None,
        })
        .filter_map(|o| {
            Some(crate::graph::ReceiverPhone {
                customer: o.customer_id?,
                lookup: o.receiver.phone_lookup.clone()?,
                display: o.receiver.phone_display.clone().unwrap_or_default(),
                order: o.id,
            })
        })
        .collect()
}

fn count_match(tally: &mut OrderImportReport, matched: bool) {
    if matched {
        tally.matched += 1;
    } else {
        tally.unmatched += 1;
    }
}
