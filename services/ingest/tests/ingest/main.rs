//! The ingest against a real Dovecot and a real cases service: what each kind of mail becomes,
//! what the mailbox looks like afterwards, and exactly-once under faults.
// Test support functions unwrap too: a failed step is a failed test.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;
use skep_ingest::Outcome;
use support::{Cases, Dovecot, Proxy, ingest_config};

const FOLDER: &str = "thehive";

fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

/// The test corpus: (name, raw message).
fn corpus() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "plain",
            crlf(
                "From: Reporter <reporter@partner.net>\nTo: soc@example.org\nSubject: Phishing report\nMessage-ID: <plain-1@partner.net>\nDate: Tue, 1 Dec 2026 10:00:00 +0000\n\nUser clicked hxxp://login-update[.]bad-bank.com/verify?u=1 from 203.0.113.7.\nInternal host 192.168.1.10 is fine.\nHash 44d88612fea8a8f36de82e1278abb02f\n",
            ),
        ),
        (
            "html",
            crlf(
                "From: noreply@partner.net\nSubject: HTML only\nMessage-ID: <html-1@partner.net>\nMIME-Version: 1.0\nContent-Type: text/html; charset=utf-8\n\n<html><body><h2>Notice</h2><p>Click <a href=\"https://evil.example.com/pay/now/please\">here</a> or write to <b>billing@evil.example.com</b>.</p></body></html>\n",
            ),
        ),
        (
            "attachments",
            crlf(
                "From: a@partner.net\nSubject: Invoice with files\nMessage-ID: <att-1@partner.net>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/plain; charset=utf-8\n\nSee the invoice.\n--XX\nContent-Type: application/pdf; name=\"invoice.pdf\"\nContent-Disposition: attachment; filename=\"invoice.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQKJSVFT0YK\n--XX\nContent-Type: image/png; name=\"logo.png\"\nContent-Disposition: attachment; filename=\"logo.png\"\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--XX--\n",
            ),
        ),
        (
            "nested",
            crlf(
                "From: b@partner.net\nSubject: Fwd: suspicious\nMessage-ID: <nested-1@partner.net>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"N\"\n\n--N\nContent-Type: text/plain\n\nForwarding this.\n--N\nContent-Type: message/rfc822\n\nFrom: attacker@evil-corp.example.org\nSubject: Reset your password\nMessage-ID: <inner@evil-corp.example.org>\n\nGo to http://reset.evil-corp.example.org/now\n--N--\n",
            ),
        ),
        (
            "latin1",
            b"From: c@partner.net\r\nSubject: =?iso-8859-1?q?Gr=FC=DFe?=\r\nMessage-ID: <latin1-1@partner.net>\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nSch\xf6ne Gr\xfc\xdfe aus M\xfcnchen\r\n".to_vec(),
        ),
        (
            "unknown-charset",
            b"From: g@partner.net\r\nSubject: Odd charset\r\nMessage-ID: <odd-1@partner.net>\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nqapla 198.51.100.77\r\n".to_vec(),
        ),
        (
            "no-message-id",
            crlf("From: d@partner.net\nSubject: No id here\n\nbody without id\n"),
        ),
        (
            "no-from",
            crlf("Subject: Anonymous tip\nMessage-ID: <nofrom-1@partner.net>\n\nlook at 198.51.100.23\n"),
        ),
        (
            "malformed",
            crlf(
                "From: e@partner.net\nSubject: Broken MIME\nMessage-ID: <broken-1@partner.net>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"nowhere\"\n\nthis body has no boundary at all 198.51.100.99\n",
            ),
        ),
        (
            "alert",
            crlf(
                "From: SIEM <siem@partner.net>\nSubject: [ALERT] Suspicious login\nMessage-ID: <alert-1@partner.net>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"A\"\n\n--A\nContent-Type: text/plain\n\nlogin from 203.0.113.50\n--A\nContent-Type: application/pdf; name=\"evidence.pdf\"\nContent-Disposition: attachment; filename=\"evidence.pdf\"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--A--\n",
            ),
        ),
        (
            "spam",
            crlf(
                "Received: from mx.partner.net\nFrom: f@partner.net\nSubject: Cheap pills\nX-Spam-Flag: YES\nMessage-ID: <spam-1@partner.net>\n\nbuy now\n",
            ),
        ),
    ]
}

/// Cases by title.
async fn cases_by_title(cases: &Cases) -> HashMap<String, Value> {
    let mut by_title = HashMap::new();
    for case in cases.cases().await {
        let title = case["title"].as_str().unwrap().to_owned();
        assert!(
            by_title.insert(title.clone(), case).is_none(),
            "two cases titled {title:?}"
        );
    }
    by_title
}

fn tags(value: &Value) -> Vec<String> {
    value["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|tag| tag.as_str().unwrap().to_owned())
        .collect()
}

fn observable<'a>(observables: &'a [Value], data_type: &str, data: &str) -> Option<&'a Value> {
    observables
        .iter()
        .find(|o| o["dataType"] == data_type && o["data"] == data)
}

fn whitelist_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("whitelist");
    std::fs::write(&path, "# known good\n192\\.168\\.\\d{1,3}\\.\\d{1,3}\n").unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_mail_becomes_a_case_or_an_alert_and_the_mailbox_is_marked() {
    let Some(dovecot) = Dovecot::start().await else {
        return;
    };
    let cases = Cases::start().await;
    // Custom observable types must be known data types, as in TheHive (an admin adds them).
    cases
        .post(
            "/api/list/list_artifactDataType",
            &serde_json::json!({"value": "ticket"}),
        )
        .await;
    let corpus = corpus();
    let raws: Vec<Vec<u8>> = corpus.iter().map(|(_, raw)| raw.clone()).collect();
    dovecot.append(FOLDER, &raws).await;
    let whitelist = whitelist_file(dovecot.dir.path());
    let config = ingest_config(
        &cases.url,
        &cases.key,
        (dovecot.imaps_port, "implicit"),
        &dovecot.ca_file,
        FOLDER,
        &format!(
            "spam = \"^X-Spam-Flag: YES\"\nwhitelist = \"{}\"\n[mailboxes.case]\ntags = [\"email\"]\ntasks = [\"Investigation\", \"Communication\"]\nfiles = [\"application/pdf\"]\n[mailboxes.alert]\ntags = [\"email\", \"imap\"]\n[mailboxes.custom_observables]\nticket = 'Hash (\\w+)'\n",
            whitelist.display()
        ),
    );

    let outcome = skep_ingest::run_once(&config, None).await;
    assert_eq!(outcome, Outcome::AllImported);

    // Mailbox: every message seen, none left unseen.
    assert_eq!(dovecot.search(FOLDER, "UNSEEN").await, Vec::<u32>::new());
    assert_eq!(dovecot.search(FOLDER, "SEEN").await.len(), corpus.len());

    let alerts = cases.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(alert["title"], "Suspicious login");
    assert_eq!(alert["source"], "SIEM <siem@partner.net>");
    assert_eq!(alert["sourceRef"].as_str().unwrap().len(), 32);
    assert!(tags(alert).contains(&"[ALERT]".to_owned()));
    assert!(tags(alert).contains(&"imap".to_owned()));
    let artifacts = alert["artifacts"].as_array().unwrap();
    assert!(
        observable(artifacts, "ip", "203.0.113.50").is_some(),
        "{artifacts:#?}"
    );
    let file_names: Vec<&str> = artifacts
        .iter()
        .filter(|a| a["dataType"] == "file")
        .map(|a| a["attachment"]["name"].as_str().unwrap())
        .collect();
    assert!(file_names.contains(&"evidence.pdf"), "{file_names:?}");
    assert!(
        file_names.contains(&"Suspicious_login.eml"),
        "{file_names:?}"
    );

    let by_title = cases_by_title(&cases).await;
    assert_eq!(by_title.len(), corpus.len() - 1, "{:?}", by_title.keys());

    // Plain: observables from the body, defanged forms refanged, whitelist applied, tags.
    let plain = &by_title["Phishing report"];
    assert!(tags(plain).contains(&"email".to_owned()));
    assert_eq!(plain["tlp"], 2);
    let observables = cases.observables(plain["id"].as_str().unwrap()).await;
    let url = observable(
        &observables,
        "url",
        "http://login-update.bad-bank.com/verify?u=1",
    )
    .unwrap_or_else(|| panic!("{observables:#?}"));
    assert_eq!(tags(url), ["found:body:plain"]);
    assert!(observable(&observables, "domain", "login-update.bad-bank.com").is_some());
    assert!(observable(&observables, "ip", "203.0.113.7").is_some());
    assert!(
        observable(&observables, "ip", "192.168.1.10").is_none(),
        "whitelisted"
    );
    assert!(observable(&observables, "hash", "44d88612fea8a8f36de82e1278abb02f").is_some());
    assert!(observable(&observables, "ticket", "44d88612fea8a8f36de82e1278abb02f").is_some());
    let from = observable(&observables, "mail", "reporter@partner.net").unwrap();
    assert_eq!(tags(from), ["found:header:from"]);
    let eml = observables
        .iter()
        .find(|o| o["dataType"] == "file")
        .expect("the original mail");
    assert_eq!(eml["attachment"]["name"], "Phishing_report.eml");
    let downloaded = cases
        .download(eml["attachment"]["id"].as_str().unwrap())
        .await;
    assert_eq!(downloaded, corpus[0].1);

    // Tasks from the configuration.
    let tasks = cases
        .post(
            &format!("/api/case/{}/task/_search", plain["id"].as_str().unwrap()),
            &serde_json::json!({"query": {}}),
        )
        .await;
    let mut titles: Vec<&str> = tasks
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    titles.sort_unstable();
    assert_eq!(titles, ["Communication", "Investigation"]);

    // HTML: Markdown description, observables from the HTML.
    let html = &by_title["HTML only"];
    let description = html["description"].as_str().unwrap();
    assert!(
        description.contains("[here](https://evil.example.com/pay/now/please)"),
        "{description}"
    );
    let observables = cases.observables(html["id"].as_str().unwrap()).await;
    let url = observable(
        &observables,
        "url",
        "https://evil.example.com/pay/now/please",
    )
    .unwrap();
    assert_eq!(tags(url), ["found:body:html"]);
    assert!(observable(&observables, "mail", "billing@evil.example.com").is_some());

    // Attachments: only the configured MIME type is uploaded; the other is listed.
    let with_files = &by_title["Invoice with files"];
    let observables = cases.observables(with_files["id"].as_str().unwrap()).await;
    let mut names: Vec<&str> = observables
        .iter()
        .filter(|o| o["dataType"] == "file")
        .map(|o| o["attachment"]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Invoice_with_files.eml", "invoice.pdf"]);
    let pdf = observables
        .iter()
        .find(|o| o["attachment"]["name"] == "invoice.pdf")
        .unwrap();
    assert_eq!(tags(pdf), ["found:attachment"]);
    assert_eq!(
        cases
            .download(pdf["attachment"]["id"].as_str().unwrap())
            .await,
        b"%PDF-1.4\n%%EOF\n"
    );
    assert!(
        with_files["description"]
            .as_str()
            .unwrap()
            .contains("logo.png (image/png, 8 bytes): type not in the configured files")
    );

    // Nested message: scanned, but message/rfc822 is not in `files`, so only listed.
    let nested = &by_title["Fwd: suspicious"];
    let observables = cases.observables(nested["id"].as_str().unwrap()).await;
    let inner = observable(
        &observables,
        "url",
        "http://reset.evil-corp.example.org/now",
    )
    .unwrap_or_else(|| panic!("{observables:#?}"));
    assert_eq!(tags(inner), ["found:attached-mail:plain"]);

    // Non-UTF-8 charset decoded.
    let latin1 = &by_title["Grüße"];
    assert!(
        latin1["description"]
            .as_str()
            .unwrap()
            .starts_with("Schöne Grüße aus München")
    );

    // Unknown charset: imported, read as UTF-8, tagged.
    let odd = &by_title["Odd charset"];
    assert!(tags(odd).contains(&"ingest:unknown-charset".to_owned()));
    assert!(odd["description"].as_str().unwrap().starts_with("qapla"));

    // No Message-ID: imported (its key is the hash of the raw message).
    assert!(by_title.contains_key("No id here"));

    // No From: imported with a tag saying so.
    let anonymous = &by_title["Anonymous tip"];
    assert!(tags(anonymous).contains(&"ingest:no-from".to_owned()));

    // Malformed MIME: imported with what could be read, tagged.
    let broken = &by_title["Broken MIME"];
    assert!(
        tags(broken).contains(&"ingest:broken-mime".to_owned()),
        "{broken:#?}"
    );

    // Spam header: tagged.
    assert!(tags(&by_title["Cheap pills"]).contains(&"spam".to_owned()));
    assert!(!tags(plain).contains(&"spam".to_owned()));

    // A second run finds nothing new; unflagging everything and re-running makes no duplicate.
    assert_eq!(
        skep_ingest::run_once(&config, None).await,
        Outcome::AllImported
    );
    dovecot.unflag_all(FOLDER).await;
    assert_eq!(dovecot.search(FOLDER, "UNSEEN").await.len(), corpus.len());
    assert_eq!(
        skep_ingest::run_once(&config, None).await,
        Outcome::AllImported
    );
    assert_eq!(cases_by_title(&cases).await.len(), corpus.len() - 1);
    assert_eq!(cases.alerts().await.len(), 1);
    assert_eq!(dovecot.search(FOLDER, "UNSEEN").await, Vec::<u32>::new());
}

/// Imports `count` simple mails; checks each became exactly one case.
fn numbered(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            crlf(&format!(
                "From: user{i}@partner.net\nSubject: Report {i:03}\nMessage-ID: <report-{i}@partner.net>\n\nsee 203.0.113.{} and http://site{i}.example.com/path/page\n",
                i % 250 + 1
            ))
        })
        .collect()
}

async fn assert_exactly_once(cases: &Cases, count: usize) {
    let by_title = cases_by_title(cases).await;
    for i in 0..count {
        assert!(
            by_title.contains_key(&format!("Report {i:03}")),
            "Report {i:03} missing"
        );
    }
    assert_eq!(by_title.len(), count);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_move_after_import() {
    let Some(dovecot) = Dovecot::start().await else {
        return;
    };
    let cases = Cases::start().await;
    dovecot.append(FOLDER, &numbered(3)).await;
    dovecot.append("done", &[]).await;
    let config = ingest_config(
        &cases.url,
        &cases.key,
        (dovecot.imap_port, "starttls"),
        &dovecot.ca_file,
        FOLDER,
        "after = \"move\"\nmove_to = \"done\"\n",
    );
    assert_eq!(
        skep_ingest::run_once(&config, None).await,
        Outcome::AllImported
    );
    assert_exactly_once(&cases, 3).await;
    assert_eq!(dovecot.search(FOLDER, "ALL").await, Vec::<u32>::new());
    assert_eq!(dovecot.search("done", "ALL").await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_after_import_expunges_only_imported_mails() {
    let Some(dovecot) = Dovecot::start().await else {
        return;
    };
    let cases = Cases::start().await;
    dovecot.append(FOLDER, &numbered(4)).await;
    let config = ingest_config(
        &cases.url,
        &cases.key,
        (dovecot.imaps_port, "implicit"),
        &dovecot.ca_file,
        FOLDER,
        "after = \"delete\"\n",
    );
    assert_eq!(
        skep_ingest::run_once(&config, None).await,
        Outcome::AllImported
    );
    assert_exactly_once(&cases, 4).await;
    assert_eq!(dovecot.search(FOLDER, "ALL").await, Vec::<u32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_refused_unless_verification_is_off() {
    let Some(dovecot) = Dovecot::start().await else {
        return;
    };
    let cases = Cases::start().await;
    dovecot.append(FOLDER, &numbered(1)).await;
    let mut config = ingest_config(
        &cases.url,
        &cases.key,
        (dovecot.imaps_port, "implicit"),
        &dovecot.ca_file,
        FOLDER,
        "",
    );
    config.mailboxes[0].ca_file = None;
    // Public roots only: Dovecot's test CA is not trusted.
    let outcome = skep_ingest::run_once(&config, None).await;
    assert_eq!(outcome.exit_code(), 3, "{outcome:?}");
    assert_eq!(dovecot.search(FOLDER, "UNSEEN").await.len(), 1);
    // SSL_CERT_FILE (passed in by main) is trusted.
    let ca = dovecot.ca_file.display().to_string();
    assert_eq!(
        skep_ingest::run_once(&config, Some(ca)).await,
        Outcome::AllImported
    );
    assert_exactly_once(&cases, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_make_a_case_that_says_so() {
    let Some(dovecot) = Dovecot::start().await else {
        return;
    };
    let cases = Cases::start().await;
    let mut big =
        crlf("From: big@partner.net\nSubject: Huge mail\nMessage-ID: <big-1@partner.net>\n\n");
    big.extend(std::iter::repeat_n(b'x', 4000));
    dovecot.append(FOLDER, &[big]).await;
    let config = ingest_config(
        &cases.url,
        &cases.key,
        (dovecot.imaps_port, "implicit"),
        &dovecot.ca_file,
        FOLDER,
        "max_message_bytes = 1000\n",
    );
    assert_eq!(
        skep_ingest::run_once(&config, None).await,
        Outcome::AllImported
    );
    let by_title = cases_by_title(&cases).await;
    let case = &by_title["Huge mail"];
    assert!(tags(case).contains(&"ingest:too-large".to_owned()));
    assert!(
        case["description"]
            .as_str()
            .unwrap()
            .contains("over the limit of 1000 bytes"),
        "{case:#?}"
    );
    assert_eq!(dovecot.search(FOLDER, "UNSEEN").await, Vec::<u32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_service_down_then_cut_mid_pass_ends_with_every_mail_once() {
    let Some(dovecot) = Dovecot::start().await else {
        return;
    };
    let cases = Cases::start().await;
    let count = 20;
    dovecot.append(FOLDER, &numbered(count)).await;
    let cases_port: u16 = cases.url.rsplit(':').next().unwrap().parse().unwrap();
    // The 5th and 12th case creations lose their connection after the request is sent.
    let proxy = Proxy::start(cases_port, Some((b"POST /api/case HTTP", 4))).await;
    let proxied = format!("http://127.0.0.1:{}", proxy.port);

    // Down for the whole pass: exit code 3, nothing marked, nothing lost.
    proxy
        .refuse
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let config = ingest_config(
        &proxied,
        &cases.key,
        (dovecot.imaps_port, "implicit"),
        &dovecot.ca_file,
        FOLDER,
        "",
    );
    let outcome = skep_ingest::run_once(&config, None).await;
    assert_eq!(outcome.exit_code(), 3, "{outcome:?}");
    assert_eq!(dovecot.search(FOLDER, "UNSEEN").await.len(), count);
    assert!(cases.cases().await.is_empty());

    // Up again, but a creation's connection is cut mid-pass: retried, no duplicate.
    proxy
        .refuse
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        skep_ingest::run_once(&config, None).await,
        Outcome::AllImported
    );
    assert!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert_exactly_once(&cases, count).await;
    assert_eq!(dovecot.search(FOLDER, "UNSEEN").await, Vec::<u32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_connection_dropped_mid_fetch_ends_with_every_mail_once() {
    let Some(dovecot) = Dovecot::start().await else {
        return;
    };
    let cases = Cases::start().await;
    let count = 20;
    dovecot.append(FOLDER, &numbered(count)).await;
    // The second body fetch (batch 2 of 3) loses the connection.
    let proxy = Proxy::start(dovecot.imap_port, Some((b"BODY.PEEK[]", 1))).await;
    let config = ingest_config(
        &cases.url,
        &cases.key,
        (proxy.port, "plain"),
        &dovecot.ca_file,
        FOLDER,
        "",
    );
    assert_eq!(
        skep_ingest::run_once(&config, None).await,
        Outcome::AllImported
    );
    assert_eq!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_exactly_once(&cases, count).await;
    assert_eq!(dovecot.search(FOLDER, "UNSEEN").await, Vec::<u32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_between_creating_cases_and_flagging_mails_then_rerun_makes_no_duplicate() {
    let Some(dovecot) = Dovecot::start().await else {
        return;
    };
    let cases = Cases::start().await;
    let count = 10;
    dovecot.append(FOLDER, &numbered(count)).await;
    // The connection dies exactly when the first batch's flags would be stored: the cases
    // exist, the mails are still unseen, as after a kill at that moment.
    let proxy = Proxy::start(dovecot.imap_port, Some((b"UID STORE", 0))).await;
    let mut config = ingest_config(
        &cases.url,
        &cases.key,
        (proxy.port, "plain"),
        &dovecot.ca_file,
        FOLDER,
        "",
    );
    config.ingest.give_up_after_secs = 0;
    let outcome = skep_ingest::run_once(&config, None).await;
    assert_eq!(outcome.exit_code(), 3, "{outcome:?}");
    assert_eq!(cases.cases().await.len(), 7, "the first batch was created");
    assert_eq!(dovecot.search(FOLDER, "UNSEEN").await.len(), count);

    config.ingest.give_up_after_secs = 3;
    assert_eq!(
        skep_ingest::run_once(&config, None).await,
        Outcome::AllImported
    );
    assert_exactly_once(&cases, count).await;
    assert_eq!(dovecot.search(FOLDER, "UNSEEN").await, Vec::<u32>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_reads_an_imap2thehive_file_and_exits_with_the_documented_codes() {
    let Some(dovecot) = Dovecot::start().await else {
        return;
    };
    let cases = Cases::start().await;
    dovecot.append(FOLDER, &numbered(2)).await;
    let binary = env!("CARGO_BIN_EXE_skep-ingest");
    let dir = dovecot.dir.path();

    // 1: configuration error.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[cases]\nurl = \"nope\"\n").unwrap();
    let status = std::process::Command::new(binary)
        .args(["--config", bad.to_str().unwrap(), "--once"])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(1));

    // An imap2thehive.conf as is (plus the CA to trust), with a key it does not know.
    let conf = dir.join("imap2thehive.conf");
    std::fs::write(
        &conf,
        format!(
            "[imap]\nhost: localhost\nport: {}\nuser: alice\npassword: {}\nfolder: {FOLDER}\nexpunge: false\nspam: (X-Spam-Flag: YES)\nca_file: {}\nunknown_key: 1\n\n[thehive]\nurl: {}\napikey: {}\nobservables: true\n\n[alert]\nkeywords: \\S*(ALERT|VTMIS)\\S*\ntlp: 2\ntags: email, imap\n\n[case]\ntlp: 2\ntags: email\ntasks: Investigation\n\n[custom_observables]\n\n[ingest]\nretry_initial_ms: 50\ngive_up_after_secs: 1\n\n[loggers]\nkeys=root\n",
            dovecot.imaps_port,
            support::PASSWORD,
            dovecot.ca_file.display(),
            cases.url,
            cases.key
        ),
    )
    .unwrap();
    let output = std::process::Command::new(binary)
        .args(["--config", conf.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{log}");
    assert!(log.contains("unknown_key is not supported"), "{log}");
    assert_exactly_once(&cases, 2).await;

    // 3: cases service unreachable (nothing listens on the port).
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let text = std::fs::read_to_string(&conf)
        .unwrap()
        .replace(&cases.url, &format!("http://127.0.0.1:{port}"));
    std::fs::write(&conf, text).unwrap();
    dovecot.unflag_all(FOLDER).await;
    let output = std::process::Command::new(binary)
        .args(["--config", conf.to_str().unwrap(), "--once"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(dovecot.search(FOLDER, "UNSEEN").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_imports_new_mail_through_idle_and_counts_it_in_metrics() {
    let Some(dovecot) = Dovecot::start().await else {
        return;
    };
    let cases = Cases::start().await;
    dovecot.append(FOLDER, &numbered(1)).await;
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut config = ingest_config(
        &cases.url,
        &cases.key,
        (dovecot.imaps_port, "implicit"),
        &dovecot.ca_file,
        FOLDER,
        "",
    );
    // Polling alone would wait 10 minutes: only IDLE brings the next mails in time.
    config.ingest.poll_interval_secs = 600;
    config.ingest.metrics_listen = format!("127.0.0.1:{metrics_port}");
    let daemon = tokio::spawn(async move { skep_ingest::run_daemon(&config, None).await });

    let count_cases = || async { cases.cases().await.len() };
    assert!(
        skep_testkit::wait_until(Duration::from_secs(60), || async {
            count_cases().await == 1
        })
        .await
    );
    let more: Vec<Vec<u8>> = numbered(3).into_iter().skip(1).collect();
    dovecot.append(FOLDER, &more).await;
    assert!(
        skep_testkit::wait_until(Duration::from_secs(60), || async {
            count_cases().await == 3
        })
        .await,
        "the daemon did not pick up new mail through IDLE"
    );
    assert_exactly_once(&cases, 3).await;
    // Counted once confirmed, before the mails are marked: once marked, the counters are final.
    assert!(
        skep_testkit::wait_until(Duration::from_secs(60), || async {
            dovecot.search(FOLDER, "UNSEEN").await.is_empty()
        })
        .await
    );

    let metrics = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    for line in [
        "skep_ingest_mails_seen_total{mailbox=\"test\"} 3",
        "skep_ingest_mails_imported_total{mailbox=\"test\"} 3",
        "skep_ingest_mails_duplicate_total{mailbox=\"test\"} 0",
        "skep_ingest_mails_failed_total{mailbox=\"test\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    daemon.abort();
}
