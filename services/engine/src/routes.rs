//! The engine's one route table: every path, method and handler.

use actix_web::web;

use crate::api::{maintenance, organization, session, status, user, workers};

/// Registers every engine route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // Open routes: no credentials needed.
    cfg.route("/api/status", web::get().to(status::get_status))
        .service(
            web::resource("/api/login")
                .app_data(skep_service::login::body_limit())
                .route(web::post().to(session::login)),
        )
        .route("/api/logout", web::get().to(session::logout))
        .route(
            "/api/maintenance/migrate",
            web::post().to(maintenance::migrate),
        );

    // Organisations and users: fixed paths first, so that `{id}` never captures them.
    cfg.route(
        "/api/organization",
        web::get().to(organization::search_organizations),
    )
    .route(
        "/api/organization",
        web::post().to(organization::create_organization),
    )
    .route(
        "/api/organization/_search",
        web::post().to(organization::search_organizations),
    )
    .route(
        "/api/organization/_stats",
        web::post().to(organization::organization_stats),
    )
    .route("/api/organization/user", web::get().to(user::search_users))
    .route(
        "/api/organization/user/_search",
        web::post().to(user::search_users),
    )
    .route("/api/user", web::get().to(user::search_users))
    .route("/api/user", web::post().to(user::create_user))
    .route("/api/user/_search", web::post().to(user::search_users))
    .route("/api/user/_stats", web::post().to(user::user_stats))
    .route("/api/user/current", web::get().to(user::current_user));

    // Analyzers, responders, jobs; before the `/api/organization/{id}` patterns below so that
    // `/api/organization/analyzer…` reaches them.
    workers::configure(cfg);

    cfg.route(
        "/api/organization/{id}",
        web::get().to(organization::get_organization),
    )
    .route(
        "/api/organization/{id}",
        web::patch().to(organization::update_organization),
    )
    .route(
        "/api/organization/{id}",
        web::delete().to(organization::delete_organization),
    )
    .route(
        "/api/organization/{id}/user",
        web::get().to(user::search_organization_users),
    )
    .route(
        "/api/organization/{id}/user/_search",
        web::post().to(user::search_organization_users),
    )
    .route("/api/user/{id}", web::get().to(user::get_user))
    .route("/api/user/{id}", web::patch().to(user::update_user))
    .route("/api/user/{id}", web::delete().to(user::delete_user))
    .route(
        "/api/user/{id}/password/set",
        web::post().to(user::set_password),
    )
    .route(
        "/api/user/{id}/password/change",
        web::post().to(user::change_password),
    )
    .route("/api/user/{id}/key", web::get().to(user::get_key))
    .route("/api/user/{id}/key", web::delete().to(user::revoke_key))
    .route("/api/user/{id}/key/renew", web::post().to(user::renew_key))
    .route("/api/user/{id}/key/set", web::post().to(user::set_key));
}
