//! Pure domain types and rules of siyu.
//!
//! Architecture invariant: this crate has no IO, no async, and depends on neither sqlx nor axum.
//! Everything here can be tested with plain unit tests and proptest.

pub mod access;
pub mod audit;
pub mod customer;
pub mod error;
pub mod event;
pub mod field;
pub mod id;
pub mod identity;
pub mod job;
pub mod order;
pub mod page;
pub mod phone;
pub mod source;
pub mod tag;
pub mod tenancy;
pub mod text;
pub mod timeline;

pub use error::{DomainError, Invalid};
