//! Pure domain types and rules of siyu.
//!
//! Architecture invariant: this crate has no IO, no async, and depends on neither sqlx nor axum.
//! Everything here can be tested with plain unit tests and proptest.

pub mod access;
pub mod activity;
pub mod aggregate;
pub mod archive;
pub mod audience;
pub mod audit;
pub mod clv;
pub mod customer;
pub mod error;
pub mod event;
pub mod field;
pub mod graph;
pub mod id;
pub mod identity;
pub mod job;
pub mod journey;
pub mod link;
pub mod material;
pub mod order;
pub mod page;
pub mod phone;
pub mod privacy;
pub mod rfm;
pub mod script;
pub mod segment;
pub mod source;
pub mod stage;
pub mod tag;
pub mod task;
pub mod tenancy;
pub mod text;
pub mod timeline;
pub mod union_find;
pub mod wecom;

pub use error::{DomainError, Invalid};
