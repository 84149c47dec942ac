//! Users: create, read, update, search, passwords, keys; roles as a set.

use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

#[tokio::test]
async fn a_created_user_has_its_login_as_id_lowercase_roles_and_no_secrets() {
    let app = TestApp::spawn().await;

    let response = app
        .post("/api/user", &json!({"login": "Jane.Doe", "name": "Jane", "roles": ["READ", "write"], "password": "x"}))
        .await;

    assert_eq!(response.status().as_u16(), 201);
    let user = json_of(response).await;
    assert_eq!(user["_id"], "jane.doe");
    assert_eq!(user["_type"], "user");
    assert_eq!(user["roles"], json!(["read", "write"]));
    assert_eq!(user["status"], "Ok");
    assert_eq!(user["createdBy"], "admin");
    for secret in ["password", "key", "preferences", "login"] {
        assert!(user.get(secret).is_none(), "{secret} must not be returned");
    }
}

#[tokio::test]
async fn creating_a_user_needs_admin_and_valid_attributes() {
    let app = TestApp::spawn().await;
    let writer = app.create_user("writer", &["read", "write"]).await;

    let forbidden = app
        .post_as(
            &writer,
            "/api/user",
            &json!({"login": "x", "name": "x", "roles": ["read"]}),
        )
        .await;
    let missing = app.post("/api/user", &json!({"login": "y"})).await;
    let bad_role = app
        .post(
            "/api/user",
            &json!({"login": "z", "name": "z", "roles": ["root"]}),
        )
        .await;
    let duplicate = app
        .post(
            "/api/user",
            &json!({"login": "writer", "name": "w", "roles": ["read"]}),
        )
        .await;

    assert_eq!(forbidden.status().as_u16(), 403);
    assert_eq!(json_of(forbidden).await["type"], "AuthorizationError");
    assert_eq!(missing.status().as_u16(), 400);
    let missing = json_of(missing).await;
    assert_eq!(missing["type"], "AttributeCheckingError");
    assert_eq!(missing["tableName"], "user");
    assert_eq!(bad_role.status().as_u16(), 400);
    assert_eq!(duplicate.status().as_u16(), 400);
    assert_eq!(json_of(duplicate).await["type"], "ConflictError");
}

#[tokio::test]
async fn users_update_themselves_but_only_admins_change_roles_or_others() {
    let app = TestApp::spawn().await;
    let reader = app.create_user("reader", &["read"]).await;
    app.create_user("someone", &["read"]).await;

    let own = app
        .patch_as(
            &reader,
            "/api/user/reader",
            &json!({"name": "Reader Name", "preferences": {"a": 1}}),
        )
        .await;
    let roles = app
        .patch_as(&reader, "/api/user/reader", &json!({"roles": ["admin"]}))
        .await;
    let other = app
        .patch_as(&reader, "/api/user/someone", &json!({"name": "x"}))
        .await;
    let password = app
        .patch("/api/user/reader", &json!({"password": "x"}))
        .await;
    let by_admin = app
        .patch("/api/user/someone", &json!({"roles": ["read", "alert"]}))
        .await;
    let current = json_of(app.get_as(&reader, "/api/user/current").await).await;

    assert_eq!(own.status().as_u16(), 200);
    assert_eq!(json_of(own).await["name"], "Reader Name");
    assert_eq!(roles.status().as_u16(), 403);
    assert_eq!(other.status().as_u16(), 403);
    assert_eq!(password.status().as_u16(), 403);
    assert_eq!(by_admin.status().as_u16(), 200);
    assert_eq!(json_of(by_admin).await["roles"], json!(["read", "alert"]));
    assert_eq!(current["preferences"], json!({"a": 1}));
}

#[tokio::test]
async fn keys_are_renewed_read_and_revoked_as_text_by_admins() {
    let app = TestApp::spawn().await;
    app.post(
        "/api/user",
        &json!({"login": "feeder", "name": "Feeder", "roles": ["alert"]}),
    )
    .await;

    let none = app.get("/api/user/feeder/key").await;
    let renewed = app
        .post("/api/user/feeder/key/renew", &json!({}))
        .await
        .text()
        .await
        .unwrap();
    let read = app.get("/api/user/feeder/key").await.text().await.unwrap();
    let works = app.get_as(&renewed, "/api/user/current").await;
    let revoke = app.delete("/api/user/feeder/key").await;
    let after = app.get_as(&renewed, "/api/user/current").await;

    assert_eq!(none.status().as_u16(), 400);
    assert_eq!(json_of(none).await["type"], "BadRequest");
    assert_eq!(renewed.len(), 32);
    assert_eq!(read, renewed);
    assert_eq!(works.status().as_u16(), 200);
    assert_eq!(revoke.status().as_u16(), 200);
    assert_eq!(after.status().as_u16(), 401);
}

#[tokio::test]
async fn passwords_are_set_by_admins_and_changed_by_their_owner_with_the_current_one() {
    let app = TestApp::spawn().await;
    let key = app.create_user("pat", &["read"]).await;
    let login = |password: &'static str| {
        let client = crate::helpers::http_client();
        let url = app.url("/api/login");
        async move {
            client
                .post(url)
                .json(&json!({"user": "pat", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };

    let set = app
        .post("/api/user/pat/password/set", &json!({"password": "first"}))
        .await;
    let wrong = app
        .post_as(
            &key,
            "/api/user/pat/password/change",
            &json!({"currentPassword": "bad", "password": "x"}),
        )
        .await;
    let change = app
        .post_as(
            &key,
            "/api/user/pat/password/change",
            &json!({"currentPassword": "first", "password": "second"}),
        )
        .await;

    assert_eq!(set.status().as_u16(), 204);
    assert_eq!(wrong.status().as_u16(), 403);
    assert_eq!(change.status().as_u16(), 204);
    assert_eq!(login("first").await, 401);
    assert_eq!(login("second").await, 200);
}

#[tokio::test]
async fn users_are_searched_and_read_by_readers_only() {
    let app = TestApp::spawn().await;
    let reader = app.create_user("searcher", &["read"]).await;
    let alert_only = app.create_user("feeder2", &["alert"]).await;

    let (total, users) = app
        .search("/api/user/_search", &json!({"query": {"_id": "searcher"}}))
        .await;
    let get = app.get_as(&reader, "/api/user/SEARCHER").await;
    let forbidden = app.get_as(&alert_only, "/api/user/searcher").await;
    let missing = app.get("/api/user/nobody").await;

    assert_eq!(total, 1);
    assert_eq!(users[0]["id"], "searcher");
    assert_eq!(get.status().as_u16(), 200);
    assert_eq!(forbidden.status().as_u16(), 403);
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(
        json_of(missing).await,
        json!({"type": "NotFoundError", "message": "user nobody not found"})
    );
    let _: Value = Value::Null;
}
