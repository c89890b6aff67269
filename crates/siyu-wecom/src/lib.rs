//! The WeCom (企业微信) client: access-token cache, per-corp rate limiting, errcode classes, callback crypto
//! and XML, and the official API types.
//!
//! Architecture invariant: this crate never imports another `siyu-*` crate and knows nothing of siyu's
//! database. It is filled in by the WeCom integration issue; the foundation only reserves its place in the
//! dependency graph (`siyu-app` depends on it).

/// How a WeCom `errcode` should be handled by callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 0: success.
    Ok,
    /// Worth retrying later (system busy, -1).
    Retryable,
    /// The access token is invalid or expired (40014, 42001): refresh it and retry once.
    Auth,
    /// Frequency limits (45009, 45033): back off.
    RateLimited,
    /// Anything else: do not retry.
    Permanent,
}

/// Classifies a WeCom `errcode`.
pub fn classify(errcode: i64) -> ErrorClass {
    match errcode {
        0 => ErrorClass::Ok,
        -1 => ErrorClass::Retryable,
        40014 | 42001 | 40001 => ErrorClass::Auth,
        45009 | 45033 | 45011 => ErrorClass::RateLimited,
        _ => ErrorClass::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcodes_fall_into_their_classes() {
        assert_eq!(classify(0), ErrorClass::Ok);
        assert_eq!(classify(42001), ErrorClass::Auth);
        assert_eq!(classify(45009), ErrorClass::RateLimited);
        assert_eq!(classify(60011), ErrorClass::Permanent);
    }
}
