//! The fake's settings: every limit and every unconfirmed errcode of reference/wecom.md is a field here, so a
//! test can tighten a limit (a minute limit of 5) or swap a code it is unsure of.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Settings of one fake WeCom server. `FakeConfig::default()` mirrors the documented values.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// Where to listen; port 0 picks a free one.
    pub bind: SocketAddr,
    /// The fake clock's start, unix seconds (default 2023-11-14 22:13:20 UTC).
    pub start_time: i64,
    /// Access-token lifetime (`expires_in`), seconds.
    pub token_ttl: i64,
    /// Calls per (corp, API path) per minute before 45009.
    pub minute_limit: u32,
    /// Calls per (corp, API path) per hour before 45009.
    pub hour_limit: u32,
    /// How long a minute-limit breach blocks the path, seconds.
    pub minute_block: i64,
    /// How long an hour-limit breach blocks the path, seconds.
    pub hour_block: i64,
    /// jsapi ticket fetches per corp per hour (`get_jsapi_ticket`).
    pub corp_ticket_hourly: u32,
    /// jsapi ticket fetches per app per hour (`ticket/get?type=agent_config`).
    pub app_ticket_hourly: u32,
    /// Followers per page of `externalcontact/get` (`next_cursor` appears above it).
    pub follow_page_size: usize,
    /// Welcome-code lifetime, seconds.
    pub welcome_ttl: i64,
    /// Errcode for an expired welcome code (unconfirmed).
    pub welcome_expired_errcode: i64,
    /// 「联系我」 plus join ways per corp.
    pub contact_way_quota: usize,
    /// Errcode when the quota is used up (unconfirmed).
    pub contact_way_quota_errcode: i64,
    /// Errcode for an unknown or dismissed `chat_id` (unconfirmed).
    pub chat_id_errcode: i64,
    /// A join way's QR code stops adding members to a group of this size (unconfirmed; vendor pages say 200).
    pub join_scan_cap: usize,
    /// The largest customer group.
    pub group_size_cap: usize,
    /// Mass messages a customer or group may receive per month; `None` = days in the fake month.
    pub reception_cap: Option<u32>,
    /// `remind_groupmsg_send` calls per message per 24 h.
    pub remind_limit: usize,
    /// Errcode for a reminder over the limit (unconfirmed).
    pub remind_limit_errcode: i64,
    /// A moment task reports status 2 (running) after this many seconds.
    pub moment_running_after: i64,
    /// A moment task reports status 3 (done) after this many seconds.
    pub moment_done_after: i64,
    /// Per-customer errcode while a transfer of that customer is waiting (40129, vendor doc only).
    pub transfer_busy_errcode: i64,
    /// On-job transfers of one customer allowed per window.
    pub transfer_limit: usize,
    /// The window of `transfer_limit`, seconds (90 days).
    pub transfer_window: i64,
    /// Per-customer errcode when the transfer limit is reached (unconfirmed).
    pub transfer_limit_errcode: i64,
    /// Seconds from a transfer request to the automatic takeover (24 h).
    pub takeover_delay: i64,
    /// Groups one new owner may receive per day (unconfirmed: 300).
    pub group_transfer_daily_cap: u32,
    /// Per-group errcode over that cap (unconfirmed).
    pub group_transfer_cap_errcode: i64,
    /// `get_user_behavior_data` range, days (unconfirmed).
    pub behavior_max_days: i64,
    /// App messages one member may receive per minute; more are silently dropped.
    pub app_message_minute_cap: usize,
    /// App messages one member may receive per hour; more are silently dropped.
    pub app_message_hour_cap: usize,
    /// How long a callback receiver has to answer 200.
    pub push_timeout: Duration,
    /// Callback deliveries per event, the first included.
    pub push_attempts: u32,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            start_time: 1_700_000_000,
            token_ttl: 7200,
            minute_limit: 10_000,
            hour_limit: 150_000,
            minute_block: 60,
            hour_block: 3600,
            corp_ticket_hourly: 400,
            app_ticket_hourly: 100,
            follow_page_size: 500,
            welcome_ttl: 20,
            welcome_expired_errcode: 40058,
            contact_way_quota: 500_000,
            contact_way_quota_errcode: 40058,
            chat_id_errcode: 40050,
            join_scan_cap: 200,
            group_size_cap: 500,
            reception_cap: None,
            remind_limit: 3,
            remind_limit_errcode: 40058,
            moment_running_after: 2,
            moment_done_after: 10,
            transfer_busy_errcode: 40129,
            transfer_limit: 2,
            transfer_window: 90 * 86_400,
            transfer_limit_errcode: 40129,
            takeover_delay: 86_400,
            group_transfer_daily_cap: 300,
            group_transfer_cap_errcode: 40058,
            behavior_max_days: 30,
            app_message_minute_cap: 30,
            app_message_hour_cap: 1000,
            push_timeout: Duration::from_secs(5),
            push_attempts: 3,
        }
    }
}
