//! HTTP-level tests of the whole stack: a real server per test over a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod audience_syncs;
mod console;
mod helpers;
mod identity;
mod ingest;
mod input;
mod journey_versions;
mod journeys_api;
mod journeys_console;
mod mall_orders;
mod nodes;
mod openapi;
mod orders;
mod pii;
mod privacy;
mod segments_api;
mod segments_console;
mod sources;
mod stages;
mod tasks_api;
mod tenancy;
mod values;
mod wecom_callbacks;
mod wecom_console;
mod wecom_group_codes;
mod wecom_live_codes;
mod wecom_live_codes_console;
mod wecom_mass_groups;
mod wecom_mass_sends;
mod wecom_moments;
mod wecom_reconcile;
mod wecom_tags;
mod wecom_tasks;
mod wecom_transfers;
