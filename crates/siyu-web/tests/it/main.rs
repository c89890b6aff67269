//! HTTP-level tests of the whole stack: a real server per test over a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod console;
mod helpers;
mod ingest;
mod input;
mod nodes;
mod openapi;
mod orders;
mod pii;
mod sources;
mod tenancy;
