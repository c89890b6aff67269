//! Frequency limits per (corp, API path), injected failures, and the real `errmsg` shape
//! (`"<text>, hint: [<id>], from ip: <ip>, more info at https://open.work.weixin.qq.com/devtool/query?e=<code>"`).

use super::config::FakeConfig;
use super::request::ApiError;
use super::state::State;

/// The minute and hour counters of one (corp, API path).
#[derive(Clone, Debug, Default)]
pub(crate) struct RateWindow {
    minute: i64,
    minute_count: u32,
    hour: i64,
    hour_count: u32,
    blocked_until: i64,
}

/// A forced errcode for the next `remaining` calls of one path.
#[derive(Clone, Debug)]
pub(crate) struct Injection {
    pub errcode: i64,
    pub remaining: u32,
}

/// Counts one call of `path` for `corp`: 45009 when a window is full or a breach still blocks the path.
/// A breach of the minute limit blocks for `minute_block` seconds, of the hour limit for `hour_block`;
/// refused calls are not counted.
pub(crate) fn count_call(
    state: &mut State,
    config: &FakeConfig,
    now: i64,
    corp: &str,
    path: &str,
    limits: (u32, u32),
) -> Result<(), ApiError> {
    let window = state.rates.entry((corp.to_owned(), path.to_owned())).or_default();
    if now < window.blocked_until {
        return Err(ApiError::code(45009));
    }
    let (minute, hour) = (now.div_euclid(60), now.div_euclid(3600));
    if window.minute != minute {
        window.minute = minute;
        window.minute_count = 0;
    }
    if window.hour != hour {
        window.hour = hour;
        window.hour_count = 0;
    }
    let (per_minute, per_hour) = limits;
    if window.hour_count >= per_hour {
        window.blocked_until = now + config.hour_block;
        return Err(ApiError::code(45009));
    }
    if window.minute_count >= per_minute {
        window.blocked_until = now + config.minute_block;
        return Err(ApiError::code(45009));
    }
    window.minute_count += 1;
    window.hour_count += 1;
    Ok(())
}

/// The injected errcode for this call of `path`, if one is pending (and uses it up).
pub(crate) fn take_injection(state: &mut State, path: &str) -> Option<ApiError> {
    let injection = state.injections.get_mut(path)?;
    if injection.remaining == 0 {
        return None;
    }
    injection.remaining -= 1;
    let errcode = injection.errcode;
    if injection.remaining == 0 {
        state.injections.remove(path);
    }
    Some(ApiError::with(errcode, "injected"))
}

/// The text WeCom puts before `, hint: […]` for `errcode`.
pub(crate) fn text(errcode: i64) -> &'static str {
    match errcode {
        0 => "ok",
        -1 => "system busy",
        40001 => "invalid credential, access_token is invalid or not latest",
        40003 => "invalid userid",
        40013 => "invalid corpid",
        40014 => "invalid access_token",
        40050 => "invalid chatid",
        40056 => "invalid agentid",
        40058 => "invalid Parameter",
        40068 => "invalid tagid",
        40071 => "UserTag Name Already Exist",
        40096 => "invalid external userid",
        40129 => "external contact is in transfer",
        41001 => "access_token missing",
        41002 => "corpid missing",
        40029 => "invalid code",
        41004 => "corpsecret missing",
        41008 => "missing code",
        41051 => "welcome msg has been sent",
        41096 => "welcome msg is being sent by other app",
        42001 => "access_token expired",
        45009 => "api freq out of limit",
        45033 => "api concurrent out of limit",
        47001 => "data format error",
        48002 => "api forbidden",
        60011 => "no privilege to access/modify contact/party/agent",
        60111 => "userid not found",
        60123 => "invalid party id",
        81013 => "user & party & tag all invalid",
        84061 => "not external contact",
        84074 => "no external contact privilege",
        90500 => "the group owner is not resigned",
        90501 => "the group owner has resigned",
        _ => "error",
    }
}

/// The full `errmsg` of a failed call: WeCom's shape, with the fake's detail (if any) after the text.
pub(crate) fn errmsg(error: &ApiError, hint: u64, now: i64, ip: &str) -> String {
    let text = text(error.errcode);
    let text = match &error.detail {
        Some(detail) if error.errcode != 45009 => format!("{text} ({detail})"),
        _ => text.to_owned(),
    };
    format!(
        "{text}, hint: [{now}{hint:07}], from ip: {ip}, more info at \
         https://open.work.weixin.qq.com/devtool/query?e={}",
        error.errcode
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_errmsg_has_the_real_shape() {
        let msg = errmsg(&ApiError::code(45009), 3, 1_700_000_000, "127.0.0.1");
        assert_eq!(
            msg,
            "api freq out of limit, hint: [17000000000000003], from ip: 127.0.0.1, more info at \
             https://open.work.weixin.qq.com/devtool/query?e=45009"
        );
    }

    #[test]
    fn an_injection_is_used_up_after_its_count() {
        let mut state = State::default();
        state.injections.insert("gettoken".into(), Injection { errcode: -1, remaining: 2 });
        assert_eq!(take_injection(&mut state, "gettoken").map(|e| e.errcode), Some(-1));
        assert!(take_injection(&mut state, "gettoken").is_some());
        assert!(take_injection(&mut state, "gettoken").is_none());
    }

    #[test]
    fn a_minute_breach_blocks_for_sixty_seconds() {
        let mut state = State::default();
        let config = FakeConfig::default();
        let now = 1_700_000_040;
        for _ in 0..3 {
            assert!(count_call(&mut state, &config, now, "c", "p", (3, 100)).is_ok());
        }
        assert_eq!(count_call(&mut state, &config, now, "c", "p", (3, 100)).map_err(|e| e.errcode), Err(45009));
        // The next minute has begun but the block lasts 60 s from the breach.
        assert!(count_call(&mut state, &config, now + 30, "c", "p", (3, 100)).is_err());
        assert!(count_call(&mut state, &config, now + 60, "c", "p", (3, 100)).is_ok());
        assert!(count_call(&mut state, &config, now, "c", "other", (3, 100)).is_ok());
    }
}
