//! Observables: single and multi creation, files and archives, duplicates, data types,
//! similar, search with nstats/nparent, update and delete; the datastore downloads.

use std::io::{Read, Write};

use serde_json::{Value, json};

use crate::helpers::{TestApp, json_of};

async fn case_id(app: &TestApp) -> String {
    app.new_case("observables").await["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn md5_id(data: &str, data_type: &str, case_id: &str) -> String {
    use md5::{Digest, Md5};
    let mut hasher = Md5::new();
    for part in [
        json!(data).to_string(),
        json!(data_type).to_string(),
        json!(case_id).to_string(),
    ] {
        hasher.update([0]);
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

#[tokio::test]
async fn one_value_answers_201_with_an_object_and_a_deterministic_id() {
    let app = TestApp::spawn().await;
    let case = case_id(&app).await;

    let response = app
        .create_observable(&case, &json!({"dataType": "ip", "data": " 10.0.0.1 ", "message": "seen", "tlp": 3, "tags": ["a", "a"], "ioc": true}))
        .await;

    assert_eq!(response.status().as_u16(), 201);
    let item = json_of(response).await;
    assert_eq!(item["_type"], "case_artifact");
    assert_eq!(item["_parent"], case.as_str());
    assert_eq!(item["data"], "10.0.0.1");
    assert_eq!(item["id"], md5_id("10.0.0.1", "ip", &case));
    assert_eq!(item["tlp"], 3);
    assert_eq!(item["tags"], json!(["a"]));
    assert_eq!(item["ioc"], true);
    assert_eq!(item["sighted"], false);
    assert_eq!(item["status"], "Ok");
    assert_eq!(item["reports"], json!({}));
}

#[tokio::test]
async fn several_values_answer_the_multi_output() {
    let app = TestApp::spawn().await;
    let case = case_id(&app).await;
    app.create_observable(
        &case,
        &json!({"dataType": "domain", "data": "b.example", "message": "m"}),
    )
    .await;

    let all_new = app
        .create_observable(
            &case,
            &json!({"dataType": "domain", "data": ["a.example", "", "c.example"], "message": "m"}),
        )
        .await;
    let mixed = app
        .create_observable(
            &case,
            &json!({"dataType": "domain", "data": ["b.example", "d.example"], "message": "m"}),
        )
        .await;
    let all_dup = app
        .create_observable(
            &case,
            &json!({"dataType": "domain", "data": ["b.example", "d.example"], "message": "m"}),
        )
        .await;

    assert_eq!(all_new.status().as_u16(), 201);
    assert_eq!(json_of(all_new).await.as_array().unwrap().len(), 2);
    assert_eq!(mixed.status().as_u16(), 207);
    let mixed = json_of(mixed).await;
    assert_eq!(mixed["success"][0]["data"], "d.example");
    assert_eq!(mixed["failure"][0]["type"], "ConflictError");
    assert_eq!(all_dup.status().as_u16(), 400);
    assert_eq!(json_of(all_dup).await.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_duplicate_is_a_conflict_unless_the_existing_one_was_deleted_then_it_is_revived() {
    let app = TestApp::spawn().await;
    let case = case_id(&app).await;
    let body = json!({"dataType": "url", "data": "http://x.example/", "message": "first"});
    let created = json_of(app.create_observable(&case, &body).await).await;
    let id = created["id"].as_str().unwrap();

    let duplicate = app.create_observable(&case, &body).await;
    app.delete(&format!("/api/case/artifact/{id}")).await;
    let revived = app
        .create_observable(
            &case,
            &json!({"dataType": "url", "data": "http://x.example/", "message": "second"}),
        )
        .await;

    assert_eq!(duplicate.status().as_u16(), 400);
    let error = json_of(duplicate).await;
    assert_eq!(error["type"], "ConflictError");
    assert_eq!(error["message"], "Artifact already exists");
    assert_eq!(error["object"]["data"], "http://x.example/");
    assert_eq!(revived.status().as_u16(), 201);
    let revived = json_of(revived).await;
    assert_eq!(revived["id"], id);
    assert_eq!(revived["status"], "Ok");
    assert_eq!(revived["message"], "second");
}

#[tokio::test]
async fn unknown_data_types_missing_message_and_tags_or_data_are_rejected() {
    let app = TestApp::spawn().await;
    let case = case_id(&app).await;

    let unknown_type = app
        .create_observable(
            &case,
            &json!({"dataType": "weird", "data": "x", "message": "m"}),
        )
        .await;
    let no_message = app
        .create_observable(&case, &json!({"dataType": "ip", "data": "1.1.1.1"}))
        .await;
    let tags_only = app
        .create_observable(
            &case,
            &json!({"dataType": "ip", "data": "1.1.1.1", "tags": ["t"]}),
        )
        .await;
    let no_data = app
        .create_observable(&case, &json!({"dataType": "ip", "message": "m"}))
        .await;
    let missing_case = app
        .create_observable(
            "nope",
            &json!({"dataType": "ip", "data": "1.1.1.2", "message": "m"}),
        )
        .await;

    assert_eq!(unknown_type.status().as_u16(), 400);
    assert_eq!(
        json_of(unknown_type).await["errors"][0]["type"],
        "InvalidFormatAttributeError"
    );
    assert_eq!(no_message.status().as_u16(), 400);
    assert_eq!(json_of(no_message).await["type"], "BadRequest");
    assert_eq!(tags_only.status().as_u16(), 201);
    assert_eq!(no_data.status().as_u16(), 400);
    assert_eq!(missing_case.status().as_u16(), 404);
}

#[tokio::test]
async fn configured_data_types_extend_the_list() {
    let app =
        TestApp::spawn_with(|config| config.observable_data_types = vec!["bitcoin".into()]).await;
    let case = case_id(&app).await;

    let response = app
        .create_observable(
            &case,
            &json!({"dataType": "bitcoin", "data": "1A1z", "message": "m"}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 201);
}

fn file_form(json_part: &str, name: &str, content: &[u8]) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new()
        .text("_json", json_part.to_owned())
        .part(
            "attachment",
            reqwest::multipart::Part::bytes(content.to_vec())
                .file_name(name.to_owned())
                .mime_str("application/octet-stream")
                .unwrap(),
        )
}

async fn post_form(app: &TestApp, case: &str, form: reqwest::multipart::Form) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/case/{case}/artifact")))
        .bearer_auth(&app.admin_key)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_file_observable_answers_an_array_and_downloads_raw_and_zipped() {
    let app = TestApp::spawn().await;
    let case = case_id(&app).await;

    let response = post_form(
        &app,
        &case,
        file_form(
            r#"{"dataType":"file","message":"sample","tlp":1}"#,
            "evil.exe",
            b"MZ payload",
        ),
    )
    .await;

    assert_eq!(response.status().as_u16(), 201);
    let items = json_of(response).await;
    let item = &items.as_array().unwrap()[0];
    assert!(item.get("data").is_none());
    let attachment = &item["attachment"];
    assert_eq!(attachment["name"], "evil.exe");
    assert_eq!(attachment["size"], 10);
    let hash = attachment["id"].as_str().unwrap();

    let raw = app
        .get(&format!("/api/datastore/{hash}?name=evil.exe"))
        .await;
    assert_eq!(raw.bytes().await.unwrap().as_ref(), b"MZ payload");
    let zipped = app
        .get(&format!("/api/datastorezip/{hash}?name=evil.exe"))
        .await;
    assert_eq!(zipped.status().as_u16(), 200);
    assert_eq!(zipped.headers()["content-type"], "application/zip");
    let archive = zipped.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
    let mut entry = zip.by_index_decrypt(0, b"malware").unwrap();
    let mut content = Vec::new();
    entry.read_to_end(&mut content).unwrap();
    assert_eq!(content, b"MZ payload");
    assert_eq!(
        app.get("/api/datastore/0000?name=x")
            .await
            .status()
            .as_u16(),
        404
    );
    assert_eq!(
        app.get(&format!("/api/datastore/{hash}?name=a%2Fb"))
            .await
            .status()
            .as_u16(),
        400
    );
}

#[tokio::test]
async fn an_encrypted_archive_with_is_zip_becomes_one_file_observable_per_member() {
    let app = TestApp::spawn().await;
    let case = case_id(&app).await;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = {
        use zip::unstable::write::FileOptionsExt;
        zip::write::SimpleFileOptions::default()
            .with_deprecated_encryption(b"infected")
            .unwrap()
    };
    for (name, content) in [
        ("one.bin", b"first".as_slice()),
        ("sub/two.bin", b"second".as_slice()),
    ] {
        writer.start_file(name, options).unwrap();
        writer.write_all(content).unwrap();
    }
    let archive = writer.finish().unwrap().into_inner();

    let response = post_form(
        &app,
        &case,
        file_form(
            r#"{"dataType":"file","message":"archive","isZip":true,"zipPassword":"infected"}"#,
            "samples.zip",
            &archive,
        ),
    )
    .await;

    assert_eq!(response.status().as_u16(), 201);
    let items = json_of(response).await;
    let mut names: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["attachment"]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, vec!["one.bin", "two.bin"]);
}

#[tokio::test]
async fn similar_observables_and_nstats_see_other_live_cases_only() {
    let app = TestApp::spawn().await;
    let first = case_id(&app).await;
    let second = case_id(&app).await;
    let deleted = case_id(&app).await;
    let body = json!({"dataType": "fqdn", "data": "c2.example", "message": "m", "ioc": true});
    let item = json_of(app.create_observable(&first, &body).await).await;
    app.create_observable(&second, &body).await;
    app.create_observable(&deleted, &body).await;
    app.delete(&format!("/api/case/{deleted}")).await;
    let id = item["id"].as_str().unwrap();

    let similar = app.get(&format!("/api/case/artifact/{id}/similar")).await;
    let (_, with_stats) = app
        .search(
            "/api/case/artifact/_search?nstats=true&nparent=1",
            &json!({"query": {"_id": id}}),
        )
        .await;

    assert_eq!(similar.headers()["x-total"], "1");
    let similar = json_of(similar).await;
    assert_eq!(similar[0]["case"]["id"], second.as_str());
    assert!(similar[0].get("reports").is_none());
    assert_eq!(with_stats[0]["stats"], json!({"seen": 1, "ioc": true}));
    assert_eq!(with_stats[0]["case"]["id"], first.as_str());
}

#[tokio::test]
async fn updates_keep_data_read_only_and_need_a_message_or_tags() {
    let app = TestApp::spawn().await;
    let case = case_id(&app).await;
    let item = json_of(
        app.create_observable(
            &case,
            &json!({"dataType": "mail", "data": "a@b.c", "message": "m"}),
        )
        .await,
    )
    .await;
    let id = item["id"].as_str().unwrap();

    let updated = app
        .patch(
            &format!("/api/case/artifact/{id}"),
            &json!({"tags": ["x"], "sighted": true, "attachment": null}),
        )
        .await;
    let readonly = app
        .patch(
            &format!("/api/case/artifact/{id}"),
            &json!({"data": "other"}),
        )
        .await;
    let emptied = app
        .patch(
            &format!("/api/case/artifact/{id}"),
            &json!({"message": "", "tags": []}),
        )
        .await;
    let bulk = app
        .patch(
            "/api/case/artifact/_bulk",
            &json!({"ids": [id], "ioc": true}),
        )
        .await;

    assert_eq!(updated.status().as_u16(), 200);
    let updated = json_of(updated).await;
    assert_eq!(updated["tags"], json!(["x"]));
    assert_eq!(updated["sighted"], true);
    assert_eq!(readonly.status().as_u16(), 400);
    assert_eq!(emptied.status().as_u16(), 400);
    assert_eq!(bulk.status().as_u16(), 200);
    assert_eq!(json_of(bulk).await[0]["ioc"], true);
}

#[tokio::test]
async fn the_observables_of_a_case_include_deleted_ones_and_stats_count_data_types() {
    let app = TestApp::spawn().await;
    let case = case_id(&app).await;
    let item = json_of(
        app.create_observable(
            &case,
            &json!({"dataType": "ip", "data": "9.9.9.9", "message": "m"}),
        )
        .await,
    )
    .await;
    app.create_observable(
        &case,
        &json!({"dataType": "domain", "data": "d.example", "message": "m"}),
    )
    .await;
    app.delete(&format!(
        "/api/case/artifact/{}",
        item["id"].as_str().unwrap()
    ))
    .await;

    let (total, _) = app
        .search(
            "/api/case/artifact/_search?range=all",
            &json!({"query": {"_parent": {"_type": "case", "_query": {"_id": case}}}}),
        )
        .await;
    let stats = json_of(
        app.post("/api/case/artifact/_stats", &json!({"query": {"status": "Ok"}, "stats": [{"_agg": "field", "_field": "dataType", "_select": [{"_agg": "count"}]}]}))
            .await,
    )
    .await;

    assert_eq!(total, 2);
    assert_eq!(stats["domain"]["count"], 1);
    assert!(stats.get("ip").is_none());
    let _: Value = stats;
}

#[tokio::test]
async fn an_attachment_reference_to_a_stored_file_creates_a_file_observable() {
    let app = TestApp::spawn().await;
    let first = case_id(&app).await;
    let second = case_id(&app).await;
    let items = json_of(
        post_form(
            &app,
            &first,
            file_form(
                r#"{"dataType":"file","message":"m"}"#,
                "shared.bin",
                b"shared",
            ),
        )
        .await,
    )
    .await;
    let attachment = items[0]["attachment"].clone();

    let response = app
        .create_observable(&second, &json!({"dataType": "file", "message": "same file", "attachment": {"id": attachment["id"], "name": "copy.bin", "contentType": "application/x-test"}}))
        .await;
    let unknown = app
        .create_observable(
            &second,
            &json!({"dataType": "file", "message": "m", "attachment": {"id": "0".repeat(64)}}),
        )
        .await;
    let both = app
        .create_observable(
            &second,
            &json!({"dataType": "file", "message": "m", "data": "x", "attachment": {"id": "y"}}),
        )
        .await;

    assert_eq!(response.status().as_u16(), 201);
    let created = json_of(response).await;
    assert_eq!(created[0]["attachment"]["id"], attachment["id"]);
    assert_eq!(created[0]["attachment"]["name"], "copy.bin");
    assert_eq!(created[0]["attachment"]["hashes"], attachment["hashes"]);
    assert_eq!(unknown.status().as_u16(), 404);
    assert_eq!(both.status().as_u16(), 400);
}

#[tokio::test]
async fn files_are_similar_to_the_same_file_and_to_hash_observables_of_their_hashes() {
    let app = TestApp::spawn().await;
    let first = case_id(&app).await;
    let second = case_id(&app).await;
    let third = case_id(&app).await;
    let items = json_of(
        post_form(
            &app,
            &first,
            file_form(
                r#"{"dataType":"file","message":"m"}"#,
                "a.bin",
                b"same bytes",
            ),
        )
        .await,
    )
    .await;
    post_form(
        &app,
        &second,
        file_form(
            r#"{"dataType":"file","message":"m"}"#,
            "b.bin",
            b"same bytes",
        ),
    )
    .await;
    let md5 = items[0]["attachment"]["hashes"][2]
        .as_str()
        .unwrap()
        .to_owned();
    let hash = json_of(
        app.create_observable(
            &third,
            &json!({"dataType": "hash", "data": md5, "message": "m"}),
        )
        .await,
    )
    .await;

    let from_file = json_of(
        app.get(&format!(
            "/api/case/artifact/{}/similar",
            items[0]["id"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    let from_hash = json_of(
        app.get(&format!(
            "/api/case/artifact/{}/similar",
            hash["id"].as_str().unwrap()
        ))
        .await,
    )
    .await;

    let mut cases: Vec<&str> = from_file
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["case"]["id"].as_str().unwrap())
        .collect();
    cases.sort_unstable();
    let mut expected = vec![second.as_str(), third.as_str()];
    expected.sort_unstable();
    assert_eq!(cases, expected);
    assert_eq!(from_hash.as_array().unwrap().len(), 2);
}
