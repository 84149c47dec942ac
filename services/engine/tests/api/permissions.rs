//! The permission table of the spec (§1), cell by cell: every role × every tenancy endpoint,
//! cross-organisation access (404), and 401 without credentials on every protected route.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, unique};

/// Roles of the callers, in the column order of `expected`.
const CALLERS: [(&str, &[&str]); 4] = [
    ("read", &["read"]),
    ("analyze", &["analyze"]),
    ("orgadmin", &["orgadmin"]),
    ("superadmin", &["superadmin"]),
];

/// What a cell's request targets, created fresh for each cell so cells do not interfere.
struct Target {
    /// The caller's organisation (or, for cross-organisation checks, another one).
    org: String,
    /// A user of `org` holding an API key and a password.
    user: String,
    /// An organisation that may be deleted.
    spare_org: String,
}

type Build = fn(&Target) -> (String, Value);

struct Endpoint {
    method: Method,
    path: &'static str,
    build: Build,
    /// Statuses for read, analyze, orgadmin, superadmin callers of the target's organisation.
    expected: [u16; 4],
}

fn endpoints() -> Vec<Endpoint> {
    fn none(path: String) -> (String, Value) {
        (path, json!({}))
    }
    vec![
        Endpoint {
            method: Method::GET,
            path: "/api/organization",
            build: |_| none("/api/organization".into()),
            expected: [403, 403, 403, 200],
        },
        Endpoint {
            method: Method::POST,
            path: "/api/organization/_search",
            build: |_| none("/api/organization/_search".into()),
            expected: [403, 403, 403, 200],
        },
        Endpoint {
            method: Method::POST,
            path: "/api/organization/_stats",
            build: |_| {
                (
                    "/api/organization/_stats".into(),
                    json!({"stats": [{"_agg": "count"}]}),
                )
            },
            expected: [403, 403, 403, 200],
        },
        Endpoint {
            method: Method::POST,
            path: "/api/organization",
            build: |_| {
                (
                    "/api/organization".into(),
                    json!({"name": unique("new"), "description": "d"}),
                )
            },
            expected: [403, 403, 403, 201],
        },
        Endpoint {
            method: Method::GET,
            path: "/api/organization/:id",
            build: |t| none(format!("/api/organization/{}", t.org)),
            expected: [404, 404, 200, 200],
        },
        Endpoint {
            method: Method::PATCH,
            path: "/api/organization/:id",
            build: |t| {
                (
                    format!("/api/organization/{}", t.spare_org),
                    json!({"description": "d2"}),
                )
            },
            expected: [403, 403, 403, 200],
        },
        Endpoint {
            method: Method::DELETE,
            path: "/api/organization/:id",
            build: |t| none(format!("/api/organization/{}", t.spare_org)),
            expected: [403, 403, 403, 204],
        },
        Endpoint {
            method: Method::GET,
            path: "/api/user",
            build: |_| none("/api/user".into()),
            expected: [403, 403, 403, 200],
        },
        Endpoint {
            method: Method::POST,
            path: "/api/user/_search",
            build: |_| none("/api/user/_search".into()),
            expected: [403, 403, 403, 200],
        },
        Endpoint {
            method: Method::POST,
            path: "/api/user/_stats",
            build: |_| {
                (
                    "/api/user/_stats".into(),
                    json!({"stats": [{"_agg": "count"}]}),
                )
            },
            expected: [403, 403, 403, 200],
        },
        Endpoint {
            method: Method::GET,
            path: "/api/organization/user",
            build: |_| none("/api/organization/user".into()),
            expected: [403, 403, 403, 200],
        },
        Endpoint {
            method: Method::POST,
            path: "/api/organization/user/_search",
            build: |_| none("/api/organization/user/_search".into()),
            expected: [403, 403, 403, 200],
        },
        Endpoint {
            method: Method::GET,
            path: "/api/organization/:id/user",
            build: |t| none(format!("/api/organization/{}/user", t.org)),
            expected: [403, 403, 200, 200],
        },
        Endpoint {
            method: Method::POST,
            path: "/api/organization/:id/user/_search",
            build: |t| none(format!("/api/organization/{}/user/_search", t.org)),
            expected: [403, 403, 200, 200],
        },
        Endpoint {
            method: Method::POST,
            path: "/api/user",
            build: |t| {
                (
                    "/api/user".into(),
                    json!({"login": unique("new"), "name": "n", "roles": ["read"], "organization": t.org}),
                )
            },
            expected: [403, 403, 201, 201],
        },
        Endpoint {
            method: Method::GET,
            path: "/api/user/current",
            build: |_| none("/api/user/current".into()),
            expected: [200, 200, 200, 200],
        },
        Endpoint {
            method: Method::GET,
            path: "/api/user/:id",
            build: |t| none(format!("/api/user/{}", t.user)),
            expected: [200, 403, 403, 200],
        },
        Endpoint {
            method: Method::PATCH,
            path: "/api/user/:id",
            build: |t| (format!("/api/user/{}", t.user), json!({"name": "renamed"})),
            expected: [403, 403, 200, 200],
        },
        Endpoint {
            method: Method::PATCH,
            path: "/api/user/:id (roles)",
            build: |t| {
                (
                    format!("/api/user/{}", t.user),
                    json!({"roles": ["read", "analyze"]}),
                )
            },
            expected: [403, 403, 200, 200],
        },
        Endpoint {
            method: Method::DELETE,
            path: "/api/user/:id",
            build: |t| none(format!("/api/user/{}", t.user)),
            expected: [403, 403, 204, 204],
        },
        Endpoint {
            method: Method::POST,
            path: "/api/user/:id/password/set",
            build: |t| {
                (
                    format!("/api/user/{}/password/set", t.user),
                    json!({"password": "p-1"}),
                )
            },
            expected: [403, 403, 204, 204],
        },
        Endpoint {
            method: Method::POST,
            path: "/api/user/:id/password/change",
            build: |t| {
                (
                    format!("/api/user/{}/password/change", t.user),
                    json!({"currentPassword": "start-pw", "password": "p-2"}),
                )
            },
            expected: [403, 403, 403, 403],
        },
        Endpoint {
            method: Method::GET,
            path: "/api/user/:id/key",
            build: |t| none(format!("/api/user/{}/key", t.user)),
            expected: [403, 403, 200, 200],
        },
        Endpoint {
            method: Method::POST,
            path: "/api/user/:id/key/renew",
            build: |t| none(format!("/api/user/{}/key/renew", t.user)),
            expected: [403, 403, 200, 200],
        },
        Endpoint {
            method: Method::POST,
            path: "/api/user/:id/key/set",
            build: |_| none(String::new()),
            expected: [403, 403, 204, 204],
        },
        Endpoint {
            method: Method::DELETE,
            path: "/api/user/:id/key",
            build: |t| none(format!("/api/user/{}/key", t.user)),
            expected: [403, 403, 204, 204],
        },
    ]
}

/// `key/set` needs a fresh key value per call, which a plain `fn` pointer cannot capture.
fn build(endpoint: &Endpoint, target: &Target) -> (String, Value) {
    if endpoint.path == "/api/user/:id/key/set" {
        return (
            format!("/api/user/{}/key/set", target.user),
            json!({"key": unique("explicit-key-of-at-least-32-characters")}),
        );
    }
    (endpoint.build)(target)
}

async fn fresh_target(app: &TestApp, org: &str) -> Target {
    let user = unique("target");
    app.create_user(org, &user, &["read"]).await;
    app.set_password(&user, "start-pw").await;
    Target {
        org: org.to_owned(),
        user,
        spare_org: app.new_org().await,
    }
}

async fn send(app: &TestApp, key: &str, method: Method, path: &str, body: &Value) -> u16 {
    let request = app.request_as(key, method.clone(), path);
    let request = if method == Method::GET || method == Method::DELETE {
        request
    } else {
        request.json(body)
    };
    request
        .send()
        .await
        .expect("request sent")
        .status()
        .as_u16()
}

#[tokio::test]
async fn every_role_gets_exactly_what_the_permission_table_allows() {
    let app = TestApp::spawn().await;
    let org = app.new_org().await;
    let mut keys = Vec::new();
    for (name, roles) in CALLERS {
        let key = if name == "superadmin" {
            app.admin_key.clone()
        } else {
            app.create_user(&org, &unique(name), roles).await
        };
        keys.push(key);
    }
    let mut mismatches = Vec::new();

    for endpoint in endpoints() {
        for (column, (role, _)) in CALLERS.iter().enumerate() {
            let target = fresh_target(&app, &org).await;
            let (path, body) = build(&endpoint, &target);
            let status = send(&app, &keys[column], endpoint.method.clone(), &path, &body).await;
            if status != endpoint.expected[column] {
                mismatches.push(format!(
                    "{} {} as {role}: got {status}, expected {}",
                    endpoint.method, endpoint.path, endpoint.expected[column]
                ));
            }
        }
    }

    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[tokio::test]
async fn objects_of_another_organization_answer_404_to_every_role_allowed_the_endpoint() {
    let app = TestApp::spawn().await;
    let own_org = app.new_org().await;
    let other_org = app.new_org().await;
    let callers = [
        (
            "read",
            app.create_user(&own_org, &unique("r"), &["read"]).await,
        ),
        (
            "analyze",
            app.create_user(&own_org, &unique("a"), &["read", "analyze"])
                .await,
        ),
        (
            "orgadmin",
            app.create_user(&own_org, &unique("oa"), &["read", "analyze", "orgadmin"])
                .await,
        ),
        (
            "orgadmin-only",
            app.create_user(&own_org, &unique("o"), &["orgadmin"]).await,
        ),
    ];
    let object_endpoints: Vec<Endpoint> = endpoints()
        .into_iter()
        .filter(|endpoint| endpoint.path.contains(":id"))
        .collect();
    let mut mismatches = Vec::new();

    for endpoint in &object_endpoints {
        for (role, key) in &callers {
            let target = fresh_target(&app, &other_org).await;
            let (path, body) = build(endpoint, &target);
            let status = send(&app, key, endpoint.method.clone(), &path, &body).await;
            // A role refused the endpoint outright gets 403 whatever the object; every role
            // allowed it must not learn that the object exists.
            if status != 404 && status != 403 {
                mismatches.push(format!(
                    "{} {path} as {role}: got {status}",
                    endpoint.method
                ));
            }
            if status == 403 && allowed_somewhere(endpoint, role) {
                mismatches.push(format!(
                    "{} {path} as {role}: got 403, expected 404",
                    endpoint.method
                ));
            }
        }
    }

    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Whether a caller preset passes the endpoint's role requirement (so only the organisation
/// check can refuse it).
fn allowed_somewhere(endpoint: &Endpoint, role: &str) -> bool {
    let column_allows = |column: usize| endpoint.expected[column] != 403;
    match role {
        "read" => column_allows(0),
        "analyze" => column_allows(0) || column_allows(1),
        "orgadmin" => column_allows(0) || column_allows(1) || column_allows(2),
        "orgadmin-only" => column_allows(2),
        _ => false,
    }
}

#[tokio::test]
async fn every_protected_route_answers_401_without_credentials() {
    let app = TestApp::spawn().await;
    let routes = [
        (Method::GET, "/api/organization"),
        (Method::POST, "/api/organization"),
        (Method::POST, "/api/organization/_search"),
        (Method::POST, "/api/organization/_stats"),
        (Method::GET, "/api/organization/user"),
        (Method::POST, "/api/organization/user/_search"),
        (Method::GET, "/api/organization/cortex"),
        (Method::PATCH, "/api/organization/cortex"),
        (Method::DELETE, "/api/organization/cortex"),
        (Method::GET, "/api/organization/cortex/user"),
        (Method::POST, "/api/organization/cortex/user/_search"),
        (Method::GET, "/api/user"),
        (Method::POST, "/api/user"),
        (Method::POST, "/api/user/_search"),
        (Method::POST, "/api/user/_stats"),
        (Method::GET, "/api/user/current"),
        (Method::GET, "/api/user/admin"),
        (Method::PATCH, "/api/user/admin"),
        (Method::DELETE, "/api/user/admin"),
        (Method::POST, "/api/user/admin/password/set"),
        (Method::POST, "/api/user/admin/password/change"),
        (Method::GET, "/api/user/admin/key"),
        (Method::DELETE, "/api/user/admin/key"),
        (Method::POST, "/api/user/admin/key/renew"),
        (Method::POST, "/api/user/admin/key/set"),
    ];
    let mut all_routes: Vec<(Method, String)> = routes
        .iter()
        .map(|(method, path)| (method.clone(), (*path).to_owned()))
        .collect();
    for kind in ["analyzer", "responder"] {
        for (method, path) in [
            (Method::GET, "/api/{k}definition"),
            (Method::POST, "/api/{k}definition/scan"),
            (Method::GET, "/api/{k}config"),
            (Method::GET, "/api/{k}config/x"),
            (Method::PATCH, "/api/{k}config/x"),
            (Method::GET, "/api/organization/{k}"),
            (Method::GET, "/api/organization/{k}/_search"),
            (Method::POST, "/api/organization/{k}/_search"),
            (Method::POST, "/api/organization/{k}/x"),
            (Method::GET, "/api/{k}"),
            (Method::POST, "/api/{k}/_search"),
            (Method::GET, "/api/{k}/type/ip"),
            (Method::GET, "/api/{k}/x"),
            (Method::PATCH, "/api/{k}/x"),
            (Method::DELETE, "/api/{k}/x"),
            (Method::POST, "/api/{k}/x/run"),
        ] {
            all_routes.push((method, path.replace("{k}", kind)));
        }
    }
    for (method, path) in [
        (Method::GET, "/api/job"),
        (Method::POST, "/api/job/_search"),
        (Method::POST, "/api/job/status"),
        (Method::GET, "/api/job/x"),
        (Method::DELETE, "/api/job/x"),
        (Method::GET, "/api/job/x/report"),
        (Method::GET, "/api/job/x/waitreport"),
        (Method::GET, "/api/job/x/artifacts"),
        (Method::GET, "/api/datastore/x"),
        (Method::GET, "/api/datastorezip/x"),
    ] {
        all_routes.push((method, path.to_owned()));
    }
    let mut mismatches = Vec::new();

    for (method, path) in all_routes {
        let response = app
            .request(method.clone(), &path)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        if status != 401 {
            mismatches.push(format!("{method} {path}: got {status}"));
        }
    }
    let open = [
        (Method::GET, "/api/status", 200),
        (Method::GET, "/api/logout", 200),
        (Method::POST, "/api/maintenance/migrate", 204),
    ];
    for (method, path, expected) in open {
        let status = app
            .request(method.clone(), path)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if status != expected {
            mismatches.push(format!(
                "{method} {path}: got {status}, expected {expected}"
            ));
        }
    }

    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}
