//! Users: creation rules, reads, updates, locking, passwords and API keys.

use serde_json::json;

use crate::helpers::{TestApp, status_and_json, unique};

#[tokio::test]
async fn a_created_user_has_the_cortex_shape_and_never_shows_secrets() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let login = unique("jdoe");

    let (status, body) = status_and_json(
        app.post(
            "/api/user",
            &json!({"login": login, "name": "John Doe", "roles": ["read", "analyze"],
                    "organization": org, "password": "pw-123456", "id": null}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 201);
    assert_eq!(body["id"], login.as_str());
    assert_eq!(body["_id"], login.as_str());
    assert_eq!(body["_type"], "user");
    assert_eq!(body["name"], "John Doe");
    assert_eq!(body["organization"], org.as_str());
    assert_eq!(body["roles"], json!(["read", "analyze"]));
    assert_eq!(body["status"], "Ok");
    assert_eq!(body["hasKey"], false);
    assert_eq!(body["hasPassword"], true);
    assert_eq!(body["createdBy"], "admin");
    for secret in [
        "password",
        "key",
        "keySealed",
        "keyFingerprint",
        "preferences",
        "login",
    ] {
        assert!(body.get(secret).is_none(), "{secret} leaked: {body}");
    }
}

#[tokio::test]
async fn bad_user_input_answers_400_or_404() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;

    let unknown_role = app
        .post(
            "/api/user",
            &json!({"login": unique("u"), "name": "x", "roles": ["god"], "organization": org}),
        )
        .await;
    let missing = app
        .post("/api/user", &json!({"name": "x", "organization": org}))
        .await;
    let unknown_org = app
        .post("/api/user", &json!({"login": unique("u"), "name": "x", "roles": ["read"], "organization": "nowhere"}))
        .await;

    let (status, body) = status_and_json(unknown_role).await;
    assert_eq!(status, 400);
    assert_eq!(body["type"], "AttributeCheckingError");
    assert_eq!(body["errors"][0]["type"], "InvalidFormatAttributeError");
    let (status, body) = status_and_json(missing).await;
    assert_eq!(status, 400);
    let missing_names: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        missing_names.contains(&"login") && missing_names.contains(&"roles"),
        "{body}"
    );
    assert_eq!(unknown_org.status().as_u16(), 404);
}

#[tokio::test]
async fn a_duplicate_login_answers_400_conflict() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let login = unique("dup");
    app.create_user(&org, &login, &["read"]).await;

    let (status, body) = status_and_json(
        app.post(
            "/api/user",
            &json!({"login": login, "name": "x", "roles": ["read"], "organization": org}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 400);
    assert_eq!(body["type"], "ConflictError");
}

#[tokio::test]
async fn the_default_organization_holds_superadmins_only_and_superadmins_live_only_there() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;

    let reader_in_cortex = app
        .post("/api/user", &json!({"login": unique("r"), "name": "x", "roles": ["read"], "organization": "cortex"}))
        .await;
    let superadmin_elsewhere = app
        .post("/api/user", &json!({"login": unique("s"), "name": "x", "roles": ["superadmin"], "organization": org}))
        .await;
    let second_superadmin = app
        .post("/api/user", &json!({"login": unique("s"), "name": "x", "roles": ["superadmin"], "organization": "cortex"}))
        .await;

    assert_eq!(reader_in_cortex.status().as_u16(), 400);
    assert_eq!(superadmin_elsewhere.status().as_u16(), 400);
    assert_eq!(second_superadmin.status().as_u16(), 201);
}

#[tokio::test]
async fn an_orgadmin_creates_users_in_its_own_organization_only_and_never_superadmins() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let other = app.new_org().await;
    let orgadmin = app
        .create_user(&org, &unique("oa"), &["read", "analyze", "orgadmin"])
        .await;

    let (own_status, own) = status_and_json(
        app.post_as(
            &orgadmin,
            "/api/user",
            &json!({"login": unique("m"), "name": "m", "roles": ["read"]}),
        )
        .await,
    )
    .await;
    let elsewhere = app
        .post_as(
            &orgadmin,
            "/api/user",
            &json!({"login": unique("m"), "name": "m", "roles": ["read"], "organization": other}),
        )
        .await;
    let superadmin = app
        .post_as(
            &orgadmin,
            "/api/user",
            &json!({"login": unique("m"), "name": "m", "roles": ["superadmin"]}),
        )
        .await;

    assert_eq!(own_status, 201);
    assert_eq!(own["organization"], org.as_str());
    assert_eq!(elsewhere.status().as_u16(), 404);
    assert_eq!(superadmin.status().as_u16(), 403);
}

#[tokio::test]
async fn users_are_listed_globally_by_superadmins_and_per_organization_by_orgadmins() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let orgadmin = app.create_user(&org, &unique("oa"), &["orgadmin"]).await;
    app.create_user(&org, &unique("m"), &["read"]).await;

    let all = app.get("/api/user?range=all").await;
    let all_total: u64 = all.headers()["X-Total"].to_str().unwrap().parse().unwrap();
    let (_, org_users) = status_and_json(
        app.get_as(&orgadmin, &format!("/api/organization/{org}/user"))
            .await,
    )
    .await;
    let (_, searched) = status_and_json(
        app.post_as(
            &orgadmin,
            &format!("/api/organization/{org}/user/_search"),
            &json!({"query": {"roles": "orgadmin"}}),
        )
        .await,
    )
    .await;
    let (_, everyone) = status_and_json(
        app.post("/api/organization/user/_search?range=all", &json!({}))
            .await,
    )
    .await;

    assert_eq!(all_total, 3);
    assert_eq!(org_users.as_array().unwrap().len(), 2);
    assert_eq!(searched.as_array().unwrap().len(), 1);
    assert_eq!(everyone.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn user_stats_count_users() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    app.create_user(&org, &unique("m"), &["read"]).await;

    let (status, body) = status_and_json(
        app.post(
            "/api/user/_stats",
            &json!({"query": {"organization": org}, "stats": [{"_agg": "count"}]}),
        )
        .await,
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(body, json!({"count": 1}));
}

#[tokio::test]
async fn users_update_their_own_name_but_not_their_roles_nor_their_password_here() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let login = unique("self");
    let key = app.create_user(&org, &login, &["read"]).await;
    let path = format!("/api/user/{login}");

    let (name_status, renamed) = status_and_json(
        app.patch_as(&key, &path, &json!({"name": "New Name"}))
            .await,
    )
    .await;
    let roles = app
        .patch_as(&key, &path, &json!({"roles": ["read", "orgadmin"]}))
        .await;
    let password = app.patch_as(&key, &path, &json!({"password": "x"})).await;
    let preferences = app
        .patch_as(&key, &path, &json!({"preferences": {"theme": "dark"}}))
        .await;
    let (_, current) = status_and_json(app.get_as(&key, "/api/user/current").await).await;

    assert_eq!(name_status, 200);
    assert_eq!(renamed["name"], "New Name");
    assert_eq!(roles.status().as_u16(), 403);
    assert_eq!(password.status().as_u16(), 403);
    assert_eq!(preferences.status().as_u16(), 200);
    assert_eq!(current["preferences"], json!({"theme": "dark"}));
}

#[tokio::test]
async fn an_orgadmin_changes_roles_in_its_organization_but_cannot_grant_superadmin_or_move_users() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let other = app.new_org().await;
    let orgadmin = app.create_user(&org, &unique("oa"), &["orgadmin"]).await;
    let member = unique("m");
    app.create_user(&org, &member, &["read"]).await;
    let path = format!("/api/user/{member}");

    let (status, body) = status_and_json(
        app.patch_as(&orgadmin, &path, &json!({"roles": ["read", "analyze"]}))
            .await,
    )
    .await;
    let superadmin = app
        .patch_as(&orgadmin, &path, &json!({"roles": ["superadmin"]}))
        .await;
    let moved = app
        .patch_as(&orgadmin, &path, &json!({"organization": other}))
        .await;

    assert_eq!(status, 200);
    assert_eq!(body["roles"], json!(["read", "analyze"]));
    assert_eq!(superadmin.status().as_u16(), 403);
    assert_eq!(moved.status().as_u16(), 403);
}

#[tokio::test]
async fn a_superadmin_moves_a_user_and_the_default_organization_rules_apply() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let other = app.new_org().await;
    let member = unique("m");
    app.create_user(&org, &member, &["read"]).await;
    let path = format!("/api/user/{member}");

    let (status, body) =
        status_and_json(app.patch(&path, &json!({"organization": other})).await).await;
    let into_cortex = app.patch(&path, &json!({"organization": "cortex"})).await;
    let to_unknown = app.patch(&path, &json!({"organization": "nowhere"})).await;
    let own_status = app
        .patch("/api/user/admin", &json!({"status": "Locked"}))
        .await;

    assert_eq!(status, 200);
    assert_eq!(body["organization"], other.as_str());
    assert_eq!(into_cortex.status().as_u16(), 400);
    assert_eq!(to_unknown.status().as_u16(), 404);
    assert_eq!(own_status.status().as_u16(), 400);
}

#[tokio::test]
async fn deleting_a_user_locks_it_and_nobody_deletes_themselves() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let login = unique("gone");
    let key = app.create_user(&org, &login, &["read"]).await;

    let delete = app.delete(&format!("/api/user/{login}")).await;
    let (_, body) = status_and_json(app.get(&format!("/api/user/{login}")).await).await;
    let refused = app.get_as(&key, "/api/user/current").await;
    let self_delete = app.delete("/api/user/admin").await;

    assert_eq!(delete.status().as_u16(), 204);
    assert_eq!(body["status"], "Locked");
    assert_eq!(refused.status().as_u16(), 403);
    assert_eq!(self_delete.status().as_u16(), 400);
}

#[tokio::test]
async fn passwords_are_set_by_administrators_and_changed_by_their_owner() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let login = unique("pw");
    let key = app.create_user(&org, &login, &["read"]).await;
    let other_key = app.create_user(&org, &unique("peer"), &["read"]).await;

    app.set_password(&login, "first-pass").await;
    let by_peer = app
        .post_as(
            &other_key,
            &format!("/api/user/{login}/password/set"),
            &json!({"password": "x"}),
        )
        .await;
    let wrong_current = app
        .post_as(
            &key,
            &format!("/api/user/{login}/password/change"),
            &json!({"currentPassword": "bad", "password": "second-pass"}),
        )
        .await;
    let change = app
        .post_as(
            &key,
            &format!("/api/user/{login}/password/change"),
            &json!({"currentPassword": "first-pass", "password": "second-pass"}),
        )
        .await;
    let by_admin = app
        .post(
            &format!("/api/user/{login}/password/change"),
            &json!({"currentPassword": "x", "password": "y"}),
        )
        .await;
    let empty = app
        .post(&format!("/api/user/{login}/password/set"), &json!({}))
        .await;

    assert_eq!(by_peer.status().as_u16(), 403);
    assert_eq!(wrong_current.status().as_u16(), 403);
    assert_eq!(change.status().as_u16(), 204);
    assert_eq!(by_admin.status().as_u16(), 403);
    assert_eq!(empty.status().as_u16(), 400);
    assert_eq!(app.login(&login, "first-pass").await.status().as_u16(), 401);
    assert_eq!(
        app.login(&login, "second-pass").await.status().as_u16(),
        200
    );
}

#[tokio::test]
async fn keys_are_revealed_as_text_renewed_and_revoked() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let login = unique("k");
    let first_key = app.create_user(&org, &login, &["read"]).await;
    let key_path = format!("/api/user/{login}/key");

    let revealed = app.get(&key_path).await;
    let content_type = revealed.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let revealed_text = revealed.text().await.unwrap();
    let renewed = app
        .post_as(&first_key, &format!("{key_path}/renew"), &json!({}))
        .await
        .text()
        .await
        .unwrap();
    let old_key_status = app
        .get_as(&first_key, "/api/user/current")
        .await
        .status()
        .as_u16();
    let new_key_status = app
        .get_as(&renewed, "/api/user/current")
        .await
        .status()
        .as_u16();
    let (_, user) = status_and_json(app.get(&format!("/api/user/{login}")).await).await;
    let revoke = app.delete(&key_path).await;
    let after_revoke = app
        .get_as(&renewed, "/api/user/current")
        .await
        .status()
        .as_u16();
    let (no_key_status, no_key_body) = status_and_json(app.get(&key_path).await).await;

    assert!(content_type.starts_with("text/plain"), "{content_type}");
    assert_eq!(revealed_text, first_key);
    assert_eq!(renewed.len(), 32);
    assert_ne!(renewed, first_key);
    assert_eq!(old_key_status, 401);
    assert_eq!(new_key_status, 200);
    assert_eq!(user["hasKey"], true);
    assert_eq!(revoke.status().as_u16(), 204);
    assert_eq!(after_revoke, 401);
    assert_eq!(no_key_status, 400);
    assert_eq!(no_key_body["type"], "BadRequest");
}

#[tokio::test]
async fn a_user_reads_its_own_key_but_only_administrators_revoke() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let login = unique("k");
    let key = app.create_user(&org, &login, &["read"]).await;

    let own_status = app
        .get_as(&key, &format!("/api/user/{login}/key"))
        .await
        .status()
        .as_u16();
    let revoke = app.delete_as(&key, &format!("/api/user/{login}/key")).await;
    let set = app
        .post(
            &format!("/api/user/{login}/key/set"),
            &json!({"key": "an-explicit-key-of-my-own-choosing-long-enough"}),
        )
        .await;
    let with_set_key = app
        .get_as(
            "an-explicit-key-of-my-own-choosing-long-enough",
            "/api/user/current",
        )
        .await;
    let short = app
        .post(
            &format!("/api/user/{login}/key/set"),
            &json!({"key": "thirty-one-characters-long-key!"}),
        )
        .await;
    let (short_status, short_body) = status_and_json(short).await;

    assert_eq!(own_status, 200);
    assert_eq!(revoke.status().as_u16(), 403);
    assert_eq!(set.status().as_u16(), 204);
    assert_eq!(with_set_key.status().as_u16(), 200);
    assert_eq!(short_status, 400, "{short_body}");
    assert!(short_body.to_string().contains("key"), "{short_body}");
    assert!(
        !short_body.to_string().contains("thirty-one"),
        "{short_body}"
    );
}

#[tokio::test]
async fn api_keys_are_stored_sealed_never_in_clear() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let login = unique("sealed");
    let key = app.create_user(&org, &login, &["read"]).await;

    let document = app.state.store.get("user", &login).await.unwrap();
    let stored = serde_json::to_string(&document.body).unwrap();

    assert!(!stored.contains(&key), "{stored}");
    assert!(document.body["keySealed"].is_string());
    assert!(document.body.get("key").is_none());
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id_hashes() {
    let app = TestApp::spawn().await;

    let document = app.state.store.get("user", "admin").await.unwrap();

    assert!(
        document.body["password"]
            .as_str()
            .unwrap()
            .starts_with("$argon2id$")
    );
}
