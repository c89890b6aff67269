//! The WeCom (企业微信) client: access-token cache, per-corp rate limiting, errcode classes, callback crypto
//! and XML, the JS-SDK signature, and the official API types. With the `fake` feature, a faithful fake WeCom
//! server (real HTTP, official JSON shapes and errcodes, token expiry, 45009, cursors, welcome codes, encrypted
//! callbacks) for the tests and `siyu admin fake-wecom`.
//!
//! Architecture invariant: this crate never imports another `siyu-*` crate and knows nothing of siyu's
//! database. The contract it is built against is `shared/reference/wecom.md`.

pub mod api;
pub mod callback;
pub mod client;
pub mod crypto;
pub mod error;
pub mod jsapi;
pub mod jssdk;
pub mod limiter;

#[cfg(feature = "fake")]
pub mod fake;

pub use client::{Client, ClientConfig, CorpCredentials};
pub use error::{ErrorClass, WecomError, classify};
pub use limiter::{LocalLimiter, RateLimiter};
