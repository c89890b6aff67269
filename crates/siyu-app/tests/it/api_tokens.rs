//! API tokens resolved through the per-node cache (`security.token_cache_secs`), on both databases: a change
//! made on a node takes effect there at once, another node sees it when its entry expires, and `last_used_at`
//! is still written once a minute.

use chrono::{DateTime, Duration, Utc};
use siyu_app::error::AppError;
use siyu_app::tenancy::MemberPatch;
use siyu_app::{Actor, App};
use siyu_domain::access::{DataScope, Role, TokenScope};

use crate::Ctx;

crate::on_both_backends!(
    a_cached_token_is_refused_on_its_node_as_soon_as_it_is_revoked,
    another_node_honours_a_revoked_token_only_until_its_cache_entry_expires,
    a_member_deactivated_or_narrowed_on_a_node_is_seen_there_at_once,
    with_the_cache_off_every_request_resolves_the_token_again,
    last_used_at_is_written_once_a_minute_even_while_the_token_is_cached,
);

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T04:00:00Z").unwrap().with_timezone(&Utc)
}

async fn token(app: &App, actor: &Actor) -> (siyu_domain::id::ApiTokenId, String) {
    let (token, secret) = app.create_token(actor, "crm", &[TokenScope::Read]).await.unwrap();
    (token.id, secret)
}

async fn resolve(app: &App, secret: &str) -> Result<Actor, AppError> {
    app.token_actor(secret, None, None).await
}

async fn a_cached_token_is_refused_on_its_node_as_soon_as_it_is_revoked(ctx: Ctx) {
    let (id, secret) = token(&ctx.app, &ctx.owner).await;
    assert_eq!(resolve(&ctx.app, &secret).await.unwrap().user, ctx.owner.user);
    assert_eq!(resolve(&ctx.app, &secret).await.unwrap().user, ctx.owner.user, "served again, now from the cache");
    ctx.app.revoke_token(&ctx.owner, id).await.unwrap();
    assert!(matches!(resolve(&ctx.app, &secret).await, Err(AppError::Unauthenticated)));
}

async fn another_node_honours_a_revoked_token_only_until_its_cache_entry_expires(ctx: Ctx) {
    let (other, clock) = ctx.clocked(t0());
    let ttl = other.settings.security.token_cache_secs;
    assert!(ttl > 0);
    let (id, secret) = token(&ctx.app, &ctx.owner).await;
    resolve(&other, &secret).await.unwrap();
    ctx.app.revoke_token(&ctx.owner, id).await.unwrap();
    clock.advance(Duration::seconds(ttl - 1));
    assert!(resolve(&other, &secret).await.is_ok(), "the other node's entry has not expired yet");
    clock.advance(Duration::seconds(1));
    assert!(matches!(resolve(&other, &secret).await, Err(AppError::Unauthenticated)));
}

async fn a_member_deactivated_or_narrowed_on_a_node_is_seen_there_at_once(ctx: Ctx) {
    let staff = ctx.member("xiaowang", Role::Admin, DataScope::All).await;
    let (_, secret) = token(&ctx.app, &staff).await;
    assert_eq!(resolve(&ctx.app, &secret).await.unwrap().visibility, None);
    let narrow = MemberPatch { scope: Some(DataScope::SelfOnly), ..Default::default() };
    ctx.app.update_member(&ctx.owner, staff.user, narrow).await.unwrap();
    assert_eq!(resolve(&ctx.app, &secret).await.unwrap().visibility, Some(vec![staff.user]));
    let off = MemberPatch { active: Some(false), ..Default::default() };
    ctx.app.update_member(&ctx.owner, staff.user, off).await.unwrap();
    assert!(matches!(resolve(&ctx.app, &secret).await, Err(AppError::Unauthenticated)));
}

async fn with_the_cache_off_every_request_resolves_the_token_again(ctx: Ctx) {
    let mut settings = (*ctx.app.settings).clone();
    settings.security.token_cache_secs = 0;
    let other = App::new(ctx.app.store.clone(), settings, ctx.app.clock.clone()).unwrap();
    let (id, secret) = token(&ctx.app, &ctx.owner).await;
    resolve(&other, &secret).await.unwrap();
    ctx.app.revoke_token(&ctx.owner, id).await.unwrap();
    assert!(matches!(resolve(&other, &secret).await, Err(AppError::Unauthenticated)));
}

async fn last_used_at_is_written_once_a_minute_even_while_the_token_is_cached(ctx: Ctx) {
    let (app, clock) = ctx.clocked(t0());
    let (id, secret) = token(&app, &ctx.owner).await;
    let last_used =
        || async { app.list_tokens(&ctx.owner).await.unwrap().into_iter().find(|t| t.id == id).unwrap().last_used_at };
    resolve(&app, &secret).await.unwrap();
    assert_eq!(last_used().await, Some(t0()));
    clock.advance(Duration::seconds(2));
    resolve(&app, &secret).await.unwrap();
    clock.advance(Duration::seconds(30));
    resolve(&app, &secret).await.unwrap();
    assert_eq!(last_used().await, Some(t0()), "not written again within the minute");
    clock.advance(Duration::seconds(30));
    resolve(&app, &secret).await.unwrap();
    assert_eq!(last_used().await, Some(t0() + Duration::seconds(62)));
}
