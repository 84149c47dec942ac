//! `EngineClient` against a small engine double served by actix on port 0.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use skep_client::{ClientError, EngineClient, USER_AGENT, http_client};

const KEY: &str = "test-api-key";

fn authorised(request: &HttpRequest) -> bool {
    request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        == Some(&format!("Bearer {KEY}"))
}

/// Answers with what the engine would need to see: method, path, query, body, user agent.
async fn echo(request: HttpRequest, body: web::Bytes) -> HttpResponse {
    if !authorised(&request) {
        return HttpResponse::Unauthorized()
            .json(json!({"type": "AuthenticationError", "message": "Authentication failure"}));
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    HttpResponse::Ok().json(json!({
        "method": request.method().as_str(),
        "path": request.path(),
        "query": request.query_string(),
        "body": body,
        "userAgent": request.headers().get("user-agent").and_then(|v| v.to_str().ok()),
    }))
}

async fn datastore(request: HttpRequest) -> HttpResponse {
    if !authorised(&request) {
        return HttpResponse::Unauthorized().finish();
    }
    HttpResponse::Ok()
        .content_type("application/octet-stream")
        .body(vec![0u8, 1, 2, 255])
}

async fn not_json() -> HttpResponse {
    HttpResponse::Ok().body("<html>not json</html>")
}

async fn missing() -> HttpResponse {
    HttpResponse::NotFound().json(json!({"type": "NotFoundError", "message": "job nope not found"}))
}

/// Starts the engine double and returns its base URL.
fn spawn_engine() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port is free");
    let port = listener
        .local_addr()
        .expect("a bound listener has an address")
        .port();
    let server = HttpServer::new(|| {
        App::new()
            .route("/api/job/garbled/artifacts", web::get().to(not_json))
            .route("/api/job/nope/waitreport", web::get().to(missing))
            .route("/api/datastore/{id}", web::get().to(datastore))
            .default_service(web::to(echo))
    })
    .workers(1)
    .listen(listener)
    .expect("the engine double listens")
    .run();
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}/")
}

fn client(base_url: &str) -> EngineClient {
    EngineClient::new(base_url, KEY, Duration::from_secs(10)).expect("the client builds")
}

#[tokio::test]
async fn status_is_fetched_with_the_api_key_and_the_skep_user_agent() {
    let engine = client(&spawn_engine());

    let answer = engine.status().await.unwrap();

    assert_eq!(answer["method"], "GET");
    assert_eq!(answer["path"], "/api/status");
    assert_eq!(answer["userAgent"], USER_AGENT);
    assert!(USER_AGENT.starts_with("skep/"));
}

#[tokio::test]
async fn current_user_calls_the_current_user_route() {
    let engine = client(&spawn_engine());

    let answer = engine.current_user().await.unwrap();

    assert_eq!(answer["path"], "/api/user/current");
}

#[tokio::test]
async fn analyzers_are_listed_all_or_by_data_type_without_paging() {
    let engine = client(&spawn_engine());

    let all = engine.list_analyzers(None).await.unwrap();
    let by_type = engine.list_analyzers(Some("ip")).await.unwrap();

    assert_eq!(all["path"], "/api/analyzer");
    assert_eq!(all["query"], "range=all");
    assert_eq!(by_type["path"], "/api/analyzer/type/ip");
}

#[tokio::test]
async fn running_an_analyzer_posts_the_body_to_its_run_route() {
    let engine = client(&spawn_engine());
    let body = json!({"dataType": "ip", "data": "8.8.8.8", "tlp": 2, "pap": 2});

    let answer = engine.run_analyzer("abc123", &body).await.unwrap();

    assert_eq!(answer["method"], "POST");
    assert_eq!(answer["path"], "/api/analyzer/abc123/run");
    assert_eq!(answer["body"], body);
}

#[tokio::test]
async fn running_a_responder_posts_the_body_to_its_run_route() {
    let engine = client(&spawn_engine());
    let body = json!({"dataType": "thehive:case", "data": {"id": "c1"}});

    let answer = engine.run_responder("resp1", &body).await.unwrap();

    assert_eq!(answer["path"], "/api/responder/resp1/run");
    assert_eq!(answer["body"], body);
}

#[tokio::test]
async fn waiting_for_a_report_passes_at_most_encoded() {
    let engine = client(&spawn_engine());

    let answer = engine.wait_report("job1", "1 minute").await.unwrap();

    assert_eq!(answer["path"], "/api/job/job1/waitreport");
    assert_eq!(answer["query"], "atMost=1+minute");
}

#[tokio::test]
async fn artifacts_are_fetched_without_paging() {
    let engine = client(&spawn_engine());

    let answer = engine.get_artifacts("job1").await.unwrap();

    assert_eq!(answer["path"], "/api/job/job1/artifacts");
    assert_eq!(answer["query"], "range=all");
}

#[tokio::test]
async fn a_download_returns_the_raw_bytes() {
    let engine = client(&spawn_engine());

    let bytes = engine.download("sha256id").await.unwrap();

    assert_eq!(bytes, vec![0u8, 1, 2, 255]);
}

#[tokio::test]
async fn a_wrong_key_yields_the_status_and_the_error_body() {
    let engine = EngineClient::new(&spawn_engine(), "wrong", Duration::from_secs(10)).unwrap();

    let error = engine.status().await.unwrap_err();

    let ClientError::Status { status, body } = error else {
        panic!("expected a status error, got {error:?}");
    };
    assert_eq!(status, 401);
    assert!(body.contains("AuthenticationError"), "{body}");
}

#[tokio::test]
async fn a_not_found_answer_is_a_status_error() {
    let engine = client(&spawn_engine());

    let error = engine.wait_report("nope", "1second").await.unwrap_err();

    assert!(
        matches!(error, ClientError::Status { status: 404, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_decode_error() {
    let engine = client(&spawn_engine());

    let error = engine.get_artifacts("garbled").await.unwrap_err();

    assert!(matches!(error, ClientError::Decode(_)), "{error:?}");
}

#[tokio::test]
async fn an_engine_that_is_not_listening_is_unreachable() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let engine = client(&format!("http://127.0.0.1:{port}"));

    let error = engine.status().await.unwrap_err();

    assert!(
        matches!(error, ClientError::Unreachable { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&format!("127.0.0.1:{port}")),
        "{error}"
    );
}

#[test]
fn the_shared_http_client_builds() {
    assert!(http_client(Duration::from_secs(5)).is_ok());
}
