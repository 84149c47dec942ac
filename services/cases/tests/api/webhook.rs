//! Webhooks: audit events POSTed to a local receiver, retried after failures, delivered once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use skep_cases::domain::webhook::{self, WebhookConfig, WebhookDispatcher, WebhookEndpoint};
use skep_store::{NewDocument, Store};

use crate::helpers::TestApp;

/// A receiver that fails the first `failures` calls, then records every event.
#[derive(Clone, Default)]
struct Receiver {
    failures_left: Arc<Mutex<u32>>,
    calls: Arc<Mutex<u32>>,
    events: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Receiver {
    fn events(&self) -> Vec<(String, Value)> {
        self.events.lock().unwrap().clone()
    }
}

async fn receive(
    receiver: web::Data<Receiver>,
    request: HttpRequest,
    body: web::Json<Value>,
) -> HttpResponse {
    *receiver.calls.lock().unwrap() += 1;
    {
        let mut failures = receiver.failures_left.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return HttpResponse::InternalServerError().finish();
        }
    }
    let event_id = request
        .headers()
        .get("X-Skep-Event-Id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    receiver
        .events
        .lock()
        .unwrap()
        .push((event_id, body.into_inner()));
    HttpResponse::Ok().finish()
}

fn start_receiver(failures: u32) -> (String, Receiver) {
    let receiver = Receiver {
        failures_left: Arc::new(Mutex::new(failures)),
        ..Receiver::default()
    };
    let data = web::Data::new(receiver.clone());
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .route("/hook", web::post().to(receive))
    })
    .workers(1)
    .bind(("127.0.0.1", 0))
    .unwrap();
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    (format!("http://127.0.0.1:{port}/hook"), receiver)
}

fn config(url: &str) -> WebhookConfig {
    WebhookConfig {
        endpoints: vec![WebhookEndpoint {
            name: "receiver".into(),
            url: url.to_owned(),
        }],
        initial_backoff_ms: 10,
        max_backoff_ms: 50,
        ..WebhookConfig::default()
    }
}

#[tokio::test]
async fn every_audit_event_reaches_the_webhook_in_the_documented_shape() {
    let (url, receiver) = start_receiver(0);
    let app = TestApp::spawn_with(|cases| cases.webhooks = config(&url)).await;

    let case = app.new_case("Hooked").await;

    let case_id = case["id"].as_str().unwrap().to_owned();
    let arrived = skep_testkit::wait_until(Duration::from_secs(20), || {
        let receiver = receiver.clone();
        let case_id = case_id.clone();
        async move {
            receiver
                .events()
                .iter()
                .any(|(_, event)| event["objectId"] == case_id.as_str())
        }
    })
    .await;
    assert!(arrived, "the case creation reached the webhook");
    let (event_id, event) = receiver
        .events()
        .into_iter()
        .find(|(_, event)| event["objectId"] == case_id.as_str())
        .unwrap();
    assert_eq!(event["operation"], "Creation");
    assert_eq!(event["objectType"], "case");
    assert_eq!(event["rootId"], case_id.as_str());
    assert_eq!(event["base"], true);
    assert_eq!(event["details"]["title"], "Hooked");
    assert_eq!(event["object"]["title"], "Hooked");
    assert!(event["requestId"].is_string() && event["startDate"].is_i64());
    assert_eq!(event["id"], event_id.as_str());
}

#[tokio::test]
async fn a_failing_endpoint_is_retried_until_it_accepts_and_gets_each_event_once() {
    let (url, receiver) = start_receiver(3);
    let app = TestApp::spawn_with(|cases| cases.webhooks = config(&url)).await;

    let first = app.new_case("First").await;
    let second = app.new_case("Second").await;

    let wanted = [first["id"].clone(), second["id"].clone()];
    let arrived = skep_testkit::wait_until(Duration::from_secs(30), || {
        let receiver = receiver.clone();
        let wanted = wanted.clone();
        async move {
            wanted.iter().all(|id| {
                receiver
                    .events()
                    .iter()
                    .any(|(_, event)| &event["objectId"] == id)
            })
        }
    })
    .await;
    assert!(arrived, "both events arrived after the failures");
    let events = receiver.events();
    let mut ids: Vec<&String> = events.iter().map(|(id, _)| id).collect();
    let before = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), before, "no event was delivered twice");
    assert_eq!(
        events[0].1["objectId"], first["id"],
        "events keep their order"
    );
    assert!(*receiver.calls.lock().unwrap() >= 3 + 2);
}

#[tokio::test]
async fn delivered_events_are_never_sent_again_after_a_restart() {
    let data_dir = skep_testkit::temp_dir();
    let backend = skep_store::Backend::Sqlite {
        path: data_dir.path().join("cases.db"),
    };
    let store: Arc<dyn Store> = skep_store::open(&backend).await.unwrap();
    let (url, receiver) = start_receiver(0);
    let queued = |audit_id: &str, status: &str, sequence: i64| {
        NewDocument {
        id: Some(webhook::delivery_id("receiver", audit_id)),
        parent: None,
        body: json!({"endpoint": "receiver", "auditId": audit_id, "status": status, "attempts": 0, "sequence": sequence,
                     "createdAt": 1, "payload": {"id": audit_id}})
        .as_object()
        .cloned()
        .unwrap(),
    }
    };
    store
        .put(webhook::KIND, queued("delivered-before", "Delivered", 1))
        .await
        .unwrap();
    store
        .put(webhook::KIND, queued("still-pending", "Pending", 2))
        .await
        .unwrap();

    let _dispatcher = WebhookDispatcher::start(store.clone(), &config(&url));

    let delivered = skep_testkit::wait_until(Duration::from_secs(20), || {
        let store = store.clone();
        async move {
            let state = store
                .get(
                    webhook::KIND,
                    &webhook::delivery_id("receiver", "still-pending"),
                )
                .await
                .unwrap();
            state.body["status"] == "Delivered"
        }
    })
    .await;
    assert!(delivered);
    let ids: Vec<String> = receiver.events().into_iter().map(|(id, _)| id).collect();
    assert_eq!(ids, vec!["still-pending".to_owned()]);
}
