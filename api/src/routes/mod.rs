//! Every route of the API, wired in one place.

pub mod administration;
pub mod audit;
pub mod board;
pub mod common;
pub mod delegations;
pub mod documents;
pub mod dossiers;
pub mod fallback;
pub mod health;
pub mod oidc;
pub mod patients;
pub mod professionals;
pub mod rcps;
pub mod reports;
pub mod reports_to_send;
pub mod search;
pub mod secretary_groups;
pub mod session;
pub mod sessions;
pub mod terminology;

use utoipa_actix_web::service_config::ServiceConfig;

/// The routes under `/api/v1`, each documented in the OpenAPI document by the same call.
pub fn api_v1(cfg: &mut ServiceConfig) {
    cfg.service(session::login)
        .service(session::refresh)
        .service(session::logout)
        .service(session::my_sessions)
        .service(session::end_my_session)
        .service(session::me)
        .service(oidc::start)
        .service(oidc::callback)
        .service(session::change_password)
        .service(administration::create_center)
        .service(administration::list_centers)
        .service(administration::patch_center)
        .service(administration::create_request)
        .service(administration::list_requests)
        .service(administration::fulfil)
        .service(administration::reject)
        .service(administration::create_account)
        .service(administration::patch_account)
        .service(administration::end_account_sessions)
        .service(professionals::create)
        .service(professionals::search)
        .service(professionals::detail)
        .service(professionals::set_category)
        .service(professionals::grant_profile)
        .service(professionals::remove_profile)
        .service(professionals::secretaries)
        .service(professionals::add_secretary)
        .service(professionals::remove_secretary)
        .service(professionals::add_group)
        .service(professionals::remove_group)
        .service(secretary_groups::create)
        .service(secretary_groups::search)
        .service(secretary_groups::detail)
        .service(secretary_groups::add_member)
        .service(secretary_groups::remove_member)
        .service(reports::physician_secretaries)
        .service(audit::list)
        .service(rcps::create)
        .service(rcps::list)
        .service(rcps::detail)
        .service(rcps::set_national)
        .service(rcps::set_member)
        .service(rcps::remove_member)
        .service(rcps::add_manager)
        .service(rcps::remove_manager)
        .service(sessions::create)
        .service(sessions::of_rcp)
        .service(sessions::start)
        .service(sessions::close)
        .service(sessions::agenda)
        .service(sessions::run)
        .service(dossiers::register)
        .service(dossiers::tab)
        .service(dossiers::read)
        .service(dossiers::update)
        .service(dossiers::validate)
        .service(dossiers::report)
        .service(dossiers::send_report)
        .service(dossiers::transmissions)
        .service(patients::create)
        .service(patients::search)
        .service(patients::read)
        .service(patients::update)
        .service(documents::add)
        .service(documents::list)
        .service(documents::describe)
        .service(documents::download)
        .service(board::set_specialty)
        .service(board::get_quorum)
        .service(board::set_quorum)
        .service(board::set_attendance)
        .service(board::get_attendance)
        .service(reports::activity)
        .service(delegations::history)
        .service(reports_to_send::reports_to_send_count)
        .service(reports_to_send::reports_to_send)
        .service(search::search)
        .service(terminology::search);
}

/// The probes, outside `/api/v1`.
pub fn probes(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz).service(health::readyz);
}
