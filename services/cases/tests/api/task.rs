//! Tasks and task logs.

use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

#[tokio::test]
async fn a_task_is_a_child_of_its_case_with_defaults() {
    let app = TestApp::spawn().await;
    let case_id = app.new_case("tasks").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = app
        .create_task(
            &case_id,
            &json!({"title": "Triage", "description": null, "owner": "Bob"}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 201);
    let task = json_of(response).await;
    assert_eq!(task["_type"], "case_task");
    assert_eq!(task["_parent"], case_id.as_str());
    assert_eq!(task["_routing"], case_id.as_str());
    assert_eq!(task["status"], "Waiting");
    assert_eq!(task["group"], "default");
    assert_eq!(task["order"], 0);
    assert_eq!(task["flag"], false);
    assert_eq!(task["owner"], "bob");
}

#[tokio::test]
async fn tasks_of_a_missing_case_or_without_title_are_refused() {
    let app = TestApp::spawn().await;
    let case_id = app.new_case("tasks").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let missing_case = app.create_task("nope", &json!({"title": "x"})).await;
    let no_title = app
        .create_task(&case_id, &json!({"description": "x"}))
        .await;

    assert_eq!(missing_case.status().as_u16(), 404);
    assert_eq!(no_title.status().as_u16(), 400);
    assert_eq!(json_of(no_title).await["tableName"], "case_task");
}

#[tokio::test]
async fn status_changes_set_start_and_end_dates_and_the_user_key_is_ignored() {
    let app = TestApp::spawn().await;
    let case_id = app.new_case("tasks").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = app.new_task(&case_id, "flow").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let started = json_of(
        app.patch(
            &format!("/api/case/task/{id}"),
            &json!({"status": "InProgress", "user": "x", "flag": true}),
        )
        .await,
    )
    .await;
    let completed = json_of(
        app.patch(
            &format!("/api/case/task/{id}"),
            &json!({"status": "Completed"}),
        )
        .await,
    )
    .await;

    assert!(started["startDate"].is_i64());
    assert_eq!(started["flag"], true);
    assert!(completed["endDate"].is_i64());
    assert_eq!(completed["flag"], false);
    assert_eq!(completed["status"], "Completed");
}

#[tokio::test]
async fn task_search_embeds_the_case_with_nparent_and_writers_are_required_to_update() {
    let app = TestApp::spawn().await;
    let reader = app.create_user("task-reader", &["read"]).await;
    let case = app.new_case("parent case").await;
    let id = app.new_task(case["id"].as_str().unwrap(), "child").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (total, tasks) = app
        .search(
            "/api/case/task/_search?nparent=1",
            &json!({"query": {"_id": id}}),
        )
        .await;
    let forbidden = app
        .patch_as(
            &reader,
            &format!("/api/case/task/{id}"),
            &json!({"title": "x"}),
        )
        .await;
    let read = app.get_as(&reader, &format!("/api/case/task/{id}")).await;

    assert_eq!(total, 1);
    assert_eq!(tasks[0]["case"]["title"], "parent case");
    assert_eq!(forbidden.status().as_u16(), 403);
    assert_eq!(read.status().as_u16(), 200);
}

#[tokio::test]
async fn the_stats_flag_of_the_task_search_adds_task_and_case_statistics() {
    let app = TestApp::spawn().await;
    let case = app.new_case("with tasks").await;
    let case_id = case["id"].as_str().unwrap();
    let first = app.new_task(case_id, "first").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.new_task(case_id, "second").await;
    let query = json!({"query": {"_id": first}});

    let (_, plain) = app.search("/api/case/task/_search?nparent=1", &query).await;
    let (_, with_stats) = app
        .search("/api/case/task/_search?nparent=1&stats=true", &query)
        .await;
    let (_, in_body) = app
        .search(
            "/api/case/task/_search",
            &json!({"query": {"_id": first}, "stats": true}),
        )
        .await;

    assert!(plain[0].get("stats").is_none(), "{}", plain[0]);
    assert!(plain[0]["case"].get("stats").is_none());
    assert_eq!(with_stats[0]["stats"], json!({}));
    assert_eq!(with_stats[0]["case"]["stats"]["tasks"]["total"], 2);
    assert_eq!(with_stats[0]["case"]["stats"]["tasks"]["Waiting"], 2);
    assert_eq!(in_body[0]["stats"], json!({}));
    assert!(
        in_body[0].get("case").is_none(),
        "no parent without nparent"
    );
}

#[tokio::test]
async fn a_log_on_a_waiting_task_starts_it_and_readers_may_write_logs() {
    let app = TestApp::spawn().await;
    let reader = app.create_user("log-reader", &["read"]).await;
    let case_id = app.new_case("logs").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let task_id = app.new_task(&case_id, "work").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = app
        .post_as(
            &reader,
            &format!("/api/case/task/{task_id}/log"),
            &json!({"message": "**found** it"}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 201);
    let log = json_of(response).await;
    assert_eq!(log["_type"], "case_task_log");
    assert_eq!(log["_parent"], task_id.as_str());
    assert_eq!(log["_routing"], case_id.as_str());
    assert_eq!(log["status"], "Ok");
    assert_eq!(log["owner"], "log-reader");
    assert!(log["startDate"].is_i64());
    let task = json_of(app.get(&format!("/api/case/task/{task_id}")).await).await;
    assert_eq!(task["status"], "InProgress");
    assert!(task["startDate"].is_i64());
}

#[tokio::test]
async fn a_multipart_log_stores_its_attachment_in_the_datastore() {
    let app = TestApp::spawn().await;
    let case_id = app.new_case("logs").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let task_id = app.new_task(&case_id, "work").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let form = reqwest::multipart::Form::new()
        .text("_json", r#"{"message":"with file"}"#)
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(b"hello".to_vec())
                .file_name("dir/hello.txt")
                .mime_str("text/plain")
                .unwrap(),
        );

    let response = app
        .client
        .post(app.url(&format!("/api/case/task/{task_id}/log")))
        .bearer_auth(&app.admin_key)
        .multipart(form)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 201);
    let log = json_of(response).await;
    let attachment = &log["attachment"];
    assert_eq!(attachment["name"], "hello.txt");
    assert_eq!(attachment["size"], 5);
    assert_eq!(attachment["contentType"], "text/plain");
    let sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    assert_eq!(attachment["id"], sha256);
    assert_eq!(
        attachment["hashes"],
        json!([
            sha256,
            "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d",
            "5d41402abc4b2a76b9719d911017c592"
        ])
    );
    let download = app
        .get(&format!("/api/datastore/{sha256}?name=hello.txt"))
        .await;
    assert_eq!(download.status().as_u16(), 200);
    assert_eq!(
        download.headers()["content-disposition"],
        "attachment; filename=\"hello.txt\""
    );
    assert_eq!(download.bytes().await.unwrap().as_ref(), b"hello");
}

#[tokio::test]
async fn logs_are_searched_updated_and_soft_deleted_with_an_empty_200() {
    let app = TestApp::spawn().await;
    let case_id = app.new_case("logs").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let task_id = app.new_task(&case_id, "work").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let log = json_of(app.create_log(&task_id, &json!({"message": "first"})).await).await;
    let log_id = log["id"].as_str().unwrap();

    let (total, logs) = app
        .search(
            "/api/case/task/log/_search?nparent=2",
            &json!({"query": {"_parent": {"_type": "case_task", "_query": {"_id": task_id}}}}),
        )
        .await;
    let by_task = json_of(app.get(&format!("/api/case/task/{task_id}/log")).await).await;
    let updated = json_of(
        app.patch(
            &format!("/api/case/task/log/{log_id}"),
            &json!({"message": "edited"}),
        )
        .await,
    )
    .await;
    let readonly = app
        .patch(
            &format!("/api/case/task/log/{log_id}"),
            &json!({"attachment": {}}),
        )
        .await;
    let deleted = app.delete(&format!("/api/case/task/log/{log_id}")).await;

    assert_eq!(total, 1);
    assert_eq!(logs[0]["case_task"]["title"], "work");
    assert_eq!(logs[0]["case_task"]["case"]["title"], "logs");
    assert_eq!(by_task.as_array().unwrap().len(), 1);
    assert_eq!(updated["message"], "edited");
    assert_eq!(readonly.status().as_u16(), 400);
    assert_eq!(
        json_of(readonly).await["errors"][0]["type"],
        "UpdateReadOnlyAttributeError"
    );
    assert_eq!(deleted.status().as_u16(), 200);
    assert!(deleted.text().await.unwrap().is_empty());
    let after = json_of(app.get(&format!("/api/case/task/log/{log_id}")).await).await;
    assert_eq!(after["status"], "Deleted");
    let _: Value = after;
}
