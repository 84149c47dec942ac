//! The one route table of the cases service: every path, method and handler.
//!
//! Every route carries its method as a guard, so a path registered for GET does not hide the
//! same path for PATCH further down. Specific paths come before parameterised ones
//! (`/api/case/_search` before `/api/case/{id}`), and the extra module's routes (alerts,
//! templates, …) are registered first so that `/api/case/template…` is never taken for a case.

use actix_web::web::{self, delete, get, patch, post};

use crate::api::{
    case, datastore, extra, log, maintenance, observable, search, session, status, task, user,
};

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/status", get().to(status::get_status))
        .route("/api/health", get().to(status::get_health))
        .service(
            web::resource("/api/login")
                .app_data(skep_service::login::body_limit())
                .route(post().to(session::login)),
        )
        .route("/api/logout", get().to(session::logout))
        .route("/api/logout", post().to(session::logout))
        .route("/api/maintenance/migrate", post().to(maintenance::migrate))
        .route("/api/_search", post().to(search::search_all))
        .route("/api/_stats", post().to(search::stats_all))
        .route("/api/datastore/{hash}", get().to(datastore::download))
        .route(
            "/api/datastorezip/{hash}",
            get().to(datastore::download_zip),
        );
    configure_users(cfg);
    extra::configure(cfg);
    configure_logs(cfg);
    configure_tasks(cfg);
    configure_observables(cfg);
    configure_cases(cfg);
}

fn configure_users(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/user/current", get().to(user::current_user))
        .route("/api/user/_search", post().to(user::search_users))
        .route("/api/user", post().to(user::create_user))
        .route("/api/user/{id}/password/set", post().to(user::set_password))
        .route(
            "/api/user/{id}/password/change",
            post().to(user::change_password),
        )
        .route("/api/user/{id}/key/renew", post().to(user::renew_key))
        .route("/api/user/{id}/key", get().to(user::get_key))
        .route("/api/user/{id}/key", delete().to(user::revoke_key))
        .route("/api/user/{id}", get().to(user::get_user))
        .route("/api/user/{id}", patch().to(user::update_user))
        .route("/api/user/{id}", delete().to(user::lock_user));
}

fn configure_logs(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/case/task/log/_search", post().to(log::search_logs))
        .route("/api/case/task/log/_stats", post().to(log::log_stats))
        .route("/api/case/task/log/{id}", get().to(log::get_log))
        .route("/api/case/task/log/{id}", patch().to(log::update_log))
        .route("/api/case/task/log/{id}", delete().to(log::delete_log))
        .route(
            "/api/case/task/{task_id}/log/_search",
            post().to(log::search_task_logs),
        )
        .route(
            "/api/case/task/{task_id}/log",
            get().to(log::search_task_logs),
        )
        .route("/api/case/task/{task_id}/log", post().to(log::create_log));
}

fn configure_tasks(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/case/task/_search", post().to(task::search_tasks))
        .route("/api/case/task/_stats", post().to(task::task_stats))
        .route("/api/case/task/{id}", get().to(task::get_task))
        .route("/api/case/task/{id}", patch().to(task::update_task))
        .route(
            "/api/case/{case_id}/task/_search",
            post().to(task::search_case_tasks),
        )
        .route("/api/case/{case_id}/task", post().to(task::create_task));
}

fn configure_observables(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/api/case/artifact/_search",
        post().to(observable::search_observables),
    )
    .route(
        "/api/case/artifact/_stats",
        post().to(observable::observable_stats),
    )
    .route(
        "/api/case/artifact/_bulk",
        patch().to(observable::bulk_update_observables),
    )
    .route(
        "/api/case/artifact/{id}/similar",
        get().to(observable::similar_observables),
    )
    .route(
        "/api/case/artifact/{id}",
        get().to(observable::get_observable),
    )
    .route(
        "/api/case/artifact/{id}",
        patch().to(observable::update_observable),
    )
    .route(
        "/api/case/artifact/{id}",
        delete().to(observable::delete_observable),
    )
    .route(
        "/api/case/{case_id}/artifact/_search",
        post().to(observable::search_case_observables),
    )
    .route(
        "/api/case/{case_id}/artifact",
        post().to(observable::create_observables),
    );
}

fn configure_cases(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/case", get().to(case::search_cases))
        .route("/api/case", post().to(case::create_case))
        .route("/api/case/_search", post().to(case::search_cases))
        .route("/api/case/_stats", post().to(case::case_stats))
        .route("/api/case/_bulk", patch().to(case::bulk_update_cases))
        .route("/api/case/{id}/links", get().to(case::case_links))
        .route("/api/case/{id}/force", delete().to(case::force_delete_case))
        .route(
            "/api/case/{first}/_merge/{second}",
            post().to(case::merge_cases),
        )
        .route("/api/case/{id}", get().to(case::get_case))
        .route("/api/case/{id}", patch().to(case::update_case))
        .route("/api/case/{id}", delete().to(case::delete_case));
}
