//! Report templates: TheHive's zip imported, listed, served as HTML and deleted.

use std::io::Write;

use serde_json::json;

use crate::helpers::TestApp;

fn templates_zip() -> Vec<u8> {
    let mut buffer = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buffer);
        let options = zip::write::SimpleFileOptions::default();
        for (name, content) in [
            (
                "report-templates/VirusTotal_GetReport_3_1/short.html",
                "<span>{{t.value}}</span>",
            ),
            (
                "report-templates/VirusTotal_GetReport_3_1/long.html",
                "<div>{{content.positives}}</div>",
            ),
            ("report-templates/Mailer_1_0/long.html", "<p>sent</p>"),
            ("report-templates/README.md", "not a template"),
        ] {
            zip.start_file(name, options).unwrap();
            zip.write_all(content.as_bytes()).unwrap();
        }
        zip.finish().unwrap();
    }
    buffer.into_inner()
}

#[tokio::test]
async fn report_templates_import_from_a_zip_list_serve_and_delete() {
    let app = TestApp::spawn().await;
    let form = reqwest::multipart::Form::new().part(
        "templates",
        reqwest::multipart::Part::bytes(templates_zip()).file_name("report-templates.zip"),
    );

    let imported = app
        .client
        .post(app.url("/api/connector/cortex/report/template/_import"))
        .bearer_auth(&app.admin_key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = imported.status().as_u16();
    let outcome: serde_json::Value = imported.json().await.unwrap();
    let (total, listed) = app
        .search(
            "/api/connector/cortex/report/template/_search?sort=%2B_id",
            &json!({}),
        )
        .await;
    let content = app
        .get("/api/connector/cortex/report/template/content/VirusTotal_GetReport_3_1/long")
        .await;
    let content_type = content.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let csp = content.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = content.text().await.unwrap();
    let deleted = app
        .delete("/api/connector/cortex/report/template/Mailer_1_0_long")
        .await;
    let gone = app
        .get("/api/connector/cortex/report/template/content/Mailer_1_0/long")
        .await;
    let bad = app
        .client
        .post(app.url("/api/connector/cortex/report/template/_import"))
        .bearer_auth(&app.admin_key)
        .multipart(reqwest::multipart::Form::new().part(
            "templates",
            reqwest::multipart::Part::bytes(b"not a zip".to_vec()).file_name("x.zip"),
        ))
        .send()
        .await
        .unwrap();

    assert_eq!(status, 200, "{outcome}");
    assert_eq!(
        outcome,
        json!({"VirusTotal_GetReport_3_1_short": true, "VirusTotal_GetReport_3_1_long": true, "Mailer_1_0_long": true})
    );
    assert_eq!(total, 3);
    assert!(
        listed
            .iter()
            .any(|t| t["id"] == "VirusTotal_GetReport_3_1_short"
                && t["analyzerId"] == "VirusTotal_GetReport_3_1"
                && t["reportType"] == "short")
    );
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert_eq!(csp, "sandbox");
    assert_eq!(html, "<div>{{content.positives}}</div>");
    assert_eq!(deleted.status().as_u16(), 204);
    assert_eq!(gone.status().as_u16(), 404);
    assert_eq!(bad.status().as_u16(), 400);
}
