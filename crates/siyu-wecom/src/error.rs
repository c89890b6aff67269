//! WeCom errcodes and what a caller does with each (reference/wecom.md §3), and the client's error type.

use std::time::Duration;

/// How a WeCom `errcode` should be handled by callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// 0: success.
    Ok,
    /// Worth retrying with a bounded backoff (system busy, -1; another app sending the welcome, 41096).
    Retryable,
    /// The access token is invalid or expired (40014, 42001): refresh it and retry once.
    Auth,
    /// Frequency or concurrency limits (45009, 45033): wait for the window.
    RateLimited,
    /// Configuration or permission (bad secret or corp id, API not authorised, untrusted IP): stop and alert.
    Permanent,
    /// A bad or stale id or parameter: no retry; resync what the id came from.
    InvalidInput,
    /// Already done (41051: the welcome message was delivered).
    Done,
}

/// Classifies a WeCom `errcode`.
pub fn classify(errcode: i64) -> ErrorClass {
    match errcode {
        0 => ErrorClass::Ok,
        -1 | 41096 => ErrorClass::Retryable,
        40014 | 42001 | 40082 | 42009 => ErrorClass::Auth,
        45009 | 45033 | 45011 => ErrorClass::RateLimited,
        40001 | 40013 | 48002 | 60011 | 60020 | 84074 => ErrorClass::Permanent,
        41051 => ErrorClass::Done,
        40003 | 40029 | 60111 | 46004 | 40058 | 40068 | 40071 | 40096 | 40129 | 41001 | 81013 | 81017 | 84061
        // Temporary media: invalid media, type, size, image or video size, missing or empty file.
        | 40004 | 40005 | 40006 | 40009 | 40011 | 41005 | 44001 => {
            ErrorClass::InvalidInput
        }
        // Unknown codes: do not hammer WeCom with retries of something we do not understand.
        _ => ErrorClass::Permanent,
    }
}

/// What went wrong calling WeCom.
#[derive(Debug, thiserror::Error)]
pub enum WecomError {
    /// WeCom answered with a non-zero errcode.
    #[error("WeCom errcode {errcode} on {path}: {errmsg}")]
    Api { path: String, errcode: i64, errmsg: String },
    /// Our own rate limiter has no budget left for this corp and API before the deadline.
    #[error("rate limit for {path}: no budget for {wait:?}")]
    Throttled { path: String, wait: Duration },
    /// The request never got a WeCom answer (connect, timeout, non-200 status, unreadable body).
    #[error("WeCom transport error on {path}: {message}")]
    Transport { path: String, message: String },
    /// WeCom's answer did not have the documented shape.
    #[error("unexpected WeCom reply on {path}: {message}")]
    Decode { path: String, message: String },
    /// The request is invalid before it is sent (too many ids, text too long, ...).
    #[error("invalid WeCom request: {0}")]
    Invalid(String),
}

impl WecomError {
    /// The errcode WeCom answered, if it did.
    pub fn errcode(&self) -> Option<i64> {
        match self {
            WecomError::Api { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }

    /// The class of the failure, for the caller's retry policy.
    pub fn class(&self) -> ErrorClass {
        match self {
            WecomError::Api { errcode, .. } => classify(*errcode),
            WecomError::Throttled { .. } => ErrorClass::RateLimited,
            WecomError::Transport { .. } => ErrorClass::Retryable,
            WecomError::Decode { .. } => ErrorClass::Permanent,
            WecomError::Invalid(_) => ErrorClass::InvalidInput,
        }
    }

    /// A stable code for logs, APIs and the console.
    pub fn code(&self) -> &'static str {
        match self.class() {
            ErrorClass::Ok => "wecom_ok",
            ErrorClass::Retryable => "wecom_unavailable",
            ErrorClass::Auth => "wecom_auth",
            ErrorClass::RateLimited => "wecom_rate_limited",
            ErrorClass::Permanent => "wecom_rejected",
            ErrorClass::InvalidInput => "wecom_invalid_input",
            ErrorClass::Done => "wecom_done",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcodes_fall_into_their_classes() {
        assert_eq!(classify(0), ErrorClass::Ok);
        assert_eq!(classify(-1), ErrorClass::Retryable);
        assert_eq!(classify(42001), ErrorClass::Auth);
        assert_eq!(classify(40014), ErrorClass::Auth);
        assert_eq!(classify(45009), ErrorClass::RateLimited);
        assert_eq!(classify(45033), ErrorClass::RateLimited);
        assert_eq!(classify(60011), ErrorClass::Permanent);
        assert_eq!(classify(40001), ErrorClass::Permanent);
        assert_eq!(classify(84061), ErrorClass::InvalidInput);
        assert_eq!(classify(40096), ErrorClass::InvalidInput);
        assert_eq!(classify(41051), ErrorClass::Done);
        assert_eq!(classify(41096), ErrorClass::Retryable);
    }

    #[test]
    fn an_unknown_errcode_is_not_retried() {
        assert_eq!(classify(99999), ErrorClass::Permanent);
    }
}
