//! The OpenAPI 3.1 document, generated from the handlers (utoipa), served at `/api/openapi.json` and
//! browsable at `/api/docs`. The committed `openapi.json` is checked by a test.

use axum::Router;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "siyu Open API", description = "私域客户运营平台 Open API. Authenticate with `Authorization: Bearer <token>` (create tokens in the console). Errors are `{code, message, request_id}` with stable codes. Lists use cursor pagination (`cursor`, `limit`, `next_cursor`). POSTs accept `Idempotency-Key`."),
    paths(
        api::customers::list_customers, api::customers::create_customer, api::customers::get_customer,
        api::customers::update_customer, api::customers::delete_customer, api::customers::tag_customer,
        api::customers::bulk_tag, api::customers::get_job, api::customers::customer_timeline,
        api::customers::list_identities, api::customers::add_identity, api::customers::remove_identity,
        api::customers::reveal_identity, api::customers::list_follows, api::customers::add_follow,
        api::customers::remove_follow, api::customers::list_notes, api::customers::add_note, api::customers::delete_note,
        api::orders::customer_orders, api::orders::get_order, api::orders::post_order,
        api::privacy::list_consents, api::privacy::set_consent, api::privacy::export_personal_data,
        api::privacy::erase_customer, api::privacy::list_privacy_requests,
        api::activity::customer_activity, api::activity::customer_aggregates,
        api::tags::list_tag_groups, api::tags::create_tag_group, api::tags::update_tag_group, api::tags::delete_tag_group,
        api::tags::create_tag, api::tags::update_tag, api::tags::delete_tag,
        api::fields::list_fields, api::fields::create_field, api::fields::update_field, api::fields::delete_field,
        api::users::list_users, api::users::get_user, api::users::add_user, api::users::update_user,
        api::users::list_departments, api::users::create_department, api::users::update_department, api::users::delete_department,
        api::tokens::list_tokens, api::tokens::create_token, api::tokens::revoke_token, api::tokens::list_audit,
        api::sources::list_sources, api::sources::create_source, api::sources::get_source, api::sources::rename_source,
        api::sources::revoke_source, api::sources::source_events,
        api::merges::list_suggestions, api::merges::accept_suggestion, api::merges::reject_suggestion,
        api::merges::customer_merges, api::merges::undo_merge,
        api::segments::list_segments, api::segments::create_segment, api::segments::preview_segment,
        api::segments::get_segment, api::segments::update_segment, api::segments::delete_segment,
        api::segments::archive_segment, api::segments::refresh_segment, api::segments::segment_members,
        api::segments::change_members, api::segments::segment_changes, api::segments::segment_sizes,
        api::segments::customer_segments, api::segments::export_members, api::segments::export_audience,
        api::audience_syncs::list_audience_syncs, api::audience_syncs::create_audience_sync,
        api::audience_syncs::run_audience_sync, api::audience_syncs::delete_audience_sync,
        api::audience_syncs::audience_sync_file,
        api::journeys::list_journeys, api::journeys::create_journey, api::journeys::enrol, api::journeys::customer_sandbox,
        api::journeys::get_journey, api::journeys::simulate_journey, api::journeys::list_journey_templates,
        api::journeys::create_from_template,
        api::journey_versions::publish_version, api::journey_versions::migrate, api::journey_versions::set_status,
        api::stages::list_stages, api::stages::save_stages, api::stages::customer_stage, api::stages::set_customer_stage,
        api::wecom::list_corps, api::wecom::connect_corp, api::wecom::get_corp, api::wecom::update_corp,
        api::wecom::test_corp, api::wecom::sync_corp, api::wecom::list_groups, api::wecom::get_group,
        api::wecom::set_group_kind,
        api::group_sops::list_group_tags, api::group_sops::create_group_tag, api::group_sops::rename_group_tag,
        api::group_sops::delete_group_tag, api::group_sops::patch_group, api::group_sops::group_sop_calendar,
        api::group_sops::list_group_sops, api::group_sops::create_group_sop, api::group_sops::get_group_sop,
        api::group_sops::update_group_sop, api::group_sops::delete_group_sop,
        api::live_codes::list_live_codes, api::live_codes::create_live_code, api::live_codes::get_live_code,
        api::live_codes::update_live_code, api::live_codes::archive_live_code, api::live_codes::get_welcome,
        api::live_codes::set_welcome,
        api::group_codes::list_group_codes, api::group_codes::create_group_code, api::group_codes::get_group_code,
        api::group_codes::update_group_code, api::group_codes::archive_group_code,
        api::group_codes::list_group_welcomes, api::group_codes::create_group_welcome,
        api::group_codes::get_group_welcome, api::group_codes::update_group_welcome,
        api::group_codes::delete_group_welcome,
        api::mass_sends::list_mass_sends, api::mass_sends::create_mass_send, api::mass_sends::get_mass_send,
        api::mass_sends::cancel_mass_send, api::mass_sends::remind_mass_send, api::mass_sends::refresh_mass_results,
        api::mass_sends::preview_mass_send, api::mass_sends::list_mass_recipients, api::mass_sends::list_mass_senders,
        api::moments::list_moments, api::moments::create_moment, api::moments::get_moment, api::moments::cancel_moment,
        api::moments::refresh_moment_results, api::moments::list_moment_interactions,
        api::transfers::list_transfers, api::transfers::preview_transfer, api::transfers::create_transfer,
        api::transfers::get_transfer, api::transfers::refresh_transfer, api::transfers::list_unassigned,
        api::tasks::list_tasks, api::tasks::create_task, api::tasks::complete_task, api::tasks::customer_tasks, api::tasks::list_dead_letters,
        api::tasks::retry_dead_letter,
        api::values::rfm_overview, api::values::set_rfm_config, api::values::run_rfm, api::values::clv_overview,
        api::values::run_clv, api::values::customer_values,
        api::archive::ingest_archive, api::archive::list_conversations, api::archive::conversation_messages,
        api::archive::search_archive, api::archive::list_alerts, api::archive::get_alert, api::archive::judge_alert,
        api::archive::alert_stats, api::archive::list_word_lists, api::archive::create_word_list,
        api::archive::delete_word_list, api::archive::list_words, api::archive::add_words, api::archive::remove_word,
        api::archive::list_rules, api::archive::create_rule, api::archive::update_rule, api::archive::delete_rule,
        api::archive::get_dictionary, api::archive::set_dictionary,
        api::scripts::list_script_groups, api::scripts::create_script_group, api::scripts::rename_script_group,
        api::scripts::delete_script_group, api::scripts::create_script, api::scripts::get_script,
        api::scripts::update_script, api::scripts::delete_script, api::scripts::use_script,
        api::materials::list_materials, api::materials::create_material, api::materials::upload_material,
        api::materials::get_material, api::materials::update_material, api::materials::delete_material,
        api::materials::replace_material_file, api::materials::material_file, api::materials::material_thumbnail,
        api::materials::material_poster,
        api::materials::material_versions, api::materials::restore_material_version, api::materials::material_stats,
        api::materials::record_material_send, api::materials::list_material_folders,
        api::materials::create_material_folder, api::materials::update_material_folder,
        api::materials::delete_material_folder, api::materials::search_content,
        api::links::mint_link, api::links::list_links, api::links::get_link, api::links::radar_stats,
    ),
    modifiers(&Bearer)
)]
pub struct ApiDoc;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document as pretty JSON (what `openapi.json` holds).
pub fn document() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_default()
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(spec)).route("/api/docs", get(docs))
}

async fn spec() -> Response {
    ([("content-type", "application/json")], document()).into_response()
}

/// A self-contained reference page rendered from the document (no CDN needed).
async fn docs() -> Html<String> {
    let doc = ApiDoc::openapi();
    let mut html = String::from(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>siyu Open API</title><link rel=\"stylesheet\" href=\"/static/app.css\"></head><body><main class=\"content\">",
    );
    html.push_str(&format!(
        "<h1>{}</h1><p class=\"muted\">{}</p><p><a class=\"btn\" href=\"/api/openapi.json\">openapi.json</a></p>",
        esc(&doc.info.title),
        esc(doc.info.description.as_deref().unwrap_or(""))
    ));
    for (path, item) in &doc.paths.paths {
        for (method, op) in item_ops(item) {
            html.push_str("<div class=\"card\">");
            html.push_str(&format!("<h2><span class=\"badge\">{method}</span> <code>{}</code></h2>", esc(path)));
            if let Some(s) = &op.summary {
                html.push_str(&format!("<p>{}</p>", esc(s)));
            }
            if let Some(params) = &op.parameters {
                html.push_str("<table><tr><th>parameter</th><th>in</th><th>required</th><th>description</th></tr>");
                for p in params {
                    let utoipa::openapi::RefOr::T(p) = p else { continue };
                    let loc = serde_json::to_value(&p.parameter_in)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default();
                    let req = matches!(p.required, utoipa::openapi::Required::True);
                    html.push_str(&format!(
                        "<tr><td><code>{}</code></td><td>{loc}</td><td>{req}</td><td>{}</td></tr>",
                        esc(&p.name),
                        esc(p.description.as_deref().unwrap_or(""))
                    ));
                }
                html.push_str("</table>");
            }
            let codes: Vec<String> = op.responses.responses.keys().cloned().collect();
            html.push_str(&format!("<p class=\"muted\">responses: {}</p></div>", esc(&codes.join(", "))));
        }
    }
    html.push_str("</main></body></html>");
    Html(html)
}

fn item_ops(item: &utoipa::openapi::PathItem) -> Vec<(&'static str, &utoipa::openapi::path::Operation)> {
    [("GET", &item.get), ("POST", &item.post), ("PUT", &item.put), ("PATCH", &item.patch), ("DELETE", &item.delete)]
        .into_iter()
        .filter_map(|(m, op)| op.as_ref().map(|o| (m, o)))
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
