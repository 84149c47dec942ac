//! Routes of analyzers, responders, jobs and the attachment store. Analyzer and responder
//! routes are symmetric: each is registered once per [`WorkerKind`], which the handler reads
//! from the resource's app data.

mod datastore;
mod job;
mod worker;

use actix_web::http::Method;
use actix_web::{Route, guard, web};

use crate::jobs::WorkerKind;

/// Registers the worker, job and datastore routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for kind in [WorkerKind::Analyzer, WorkerKind::Responder] {
        let k = kind.as_str();
        let mut add = |method: Method, path: String, route: Route| {
            cfg.service(
                web::resource(path)
                    .guard(guard::Method(method))
                    .app_data(web::Data::new(kind))
                    .route(route),
            );
        };
        add(
            Method::GET,
            format!("/api/{k}definition"),
            web::route().to(worker::list_definitions),
        );
        add(
            Method::POST,
            format!("/api/{k}definition/scan"),
            web::route().to(worker::scan_definitions),
        );
        add(
            Method::GET,
            format!("/api/{k}config"),
            web::route().to(worker::list_base_configs),
        );
        add(
            Method::GET,
            format!("/api/{k}config/{{name}}"),
            web::route().to(worker::get_base_config),
        );
        add(
            Method::PATCH,
            format!("/api/{k}config/{{name}}"),
            web::route().to(worker::update_base_config),
        );
        add(
            Method::GET,
            format!("/api/organization/{k}"),
            web::route().to(worker::list_workers),
        );
        add(
            Method::GET,
            format!("/api/organization/{k}/_search"),
            web::route().to(worker::search_workers),
        );
        add(
            Method::POST,
            format!("/api/organization/{k}/_search"),
            web::route().to(worker::search_workers),
        );
        add(
            Method::POST,
            format!("/api/organization/{k}/{{definition_id}}"),
            web::route().to(worker::enable_worker),
        );
        add(
            Method::GET,
            format!("/api/{k}"),
            web::route().to(worker::list_workers),
        );
        add(
            Method::POST,
            format!("/api/{k}/_search"),
            web::route().to(worker::search_workers),
        );
        add(
            Method::GET,
            format!("/api/{k}/type/{{data_type}}"),
            web::route().to(worker::list_workers_by_type),
        );
        add(
            Method::GET,
            format!("/api/{k}/{{id}}"),
            web::route().to(worker::get_worker),
        );
        add(
            Method::PATCH,
            format!("/api/{k}/{{id}}"),
            web::route().to(worker::update_worker),
        );
        add(
            Method::DELETE,
            format!("/api/{k}/{{id}}"),
            web::route().to(worker::disable_worker),
        );
        add(
            Method::POST,
            format!("/api/{k}/{{id}}/run"),
            web::route().to(job::run_worker),
        );
    }
    cfg.route("/api/job", web::get().to(job::list_jobs))
        .route("/api/job/_search", web::post().to(job::search_jobs))
        .route("/api/job/status", web::post().to(job::job_statuses))
        .route("/api/job/{id}", web::get().to(job::get_job))
        .route("/api/job/{id}", web::delete().to(job::delete_job))
        .route("/api/job/{id}/report", web::get().to(job::get_report))
        .route("/api/job/{id}/waitreport", web::get().to(job::wait_report))
        .route(
            "/api/job/{id}/artifacts",
            web::get().to(job::list_artifacts),
        )
        .route("/api/datastore/{hash}", web::get().to(datastore::download))
        .route(
            "/api/datastorezip/{hash}",
            web::get().to(datastore::download_zip),
        );
}
