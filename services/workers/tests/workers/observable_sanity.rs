//! The observable-sanity analyzer.

use serde_json::json;

use crate::helpers::{Finished, run_job};

fn check(data_type: &str, data: &str) -> Finished {
    run_job(
        json!({"data": data, "dataType": data_type, "tlp": 2, "pap": 2, "config": {"worker": "observable_sanity"}}),
        None,
    )
}

#[test]
fn a_defanged_url_is_refanged_and_returned_as_an_artifact() {
    let finished = check("url", "hxxps://login-paypal[.]example(.)com/verify");

    finished.assert_success();
    assert_eq!(finished.output["full"]["valid"], true);
    assert_eq!(finished.output["full"]["defanged"], true);
    assert_eq!(
        finished.output["full"]["normalized"],
        "https://login-paypal.example.com/verify"
    );
    assert_eq!(
        finished.artifact_values("url"),
        ["https://login-paypal.example.com/verify"]
    );
    assert_eq!(
        finished.artifact_values("domain"),
        ["login-paypal.example.com"]
    );
    assert_eq!(
        finished.taxonomy("Sanity", "Defanged").unwrap()["value"],
        "yes"
    );
}

#[test]
fn a_private_ip_is_flagged_as_private() {
    let finished = check("ip", "192.168.10.4");

    finished.assert_success();
    assert_eq!(finished.output["full"]["class"], "private");
    assert_eq!(finished.output["full"]["routable"], false);
    assert_eq!(
        finished.taxonomy("Sanity", "Class").unwrap(),
        json!({"level": "info", "namespace": "Sanity", "predicate": "Class", "value": "private"})
    );
}

#[test]
fn a_defanged_ipv4_is_public_and_normalised() {
    let finished = check("ip", "8[.]8[.]8[.]8");

    assert_eq!(finished.output["full"]["normalized"], "8.8.8.8");
    assert_eq!(finished.output["full"]["class"], "public");
}

#[test]
fn an_invalid_domain_is_reported_invalid_with_the_reason() {
    let finished = check("domain", "-bad-.example");

    finished.assert_success();
    assert_eq!(finished.output["full"]["valid"], false);
    assert_eq!(
        finished.output["full"]["reason"],
        "label `-bad-` starts or ends with a hyphen"
    );
    assert_eq!(
        finished.taxonomy("Sanity", "Valid").unwrap()["level"],
        "suspicious"
    );
}

#[test]
fn a_defanged_mail_is_refanged() {
    let finished = check("mail", "ceo[at]Corp-Example[.]com");

    assert_eq!(
        finished.output["full"]["normalized"],
        "ceo@corp-example.com"
    );
    assert_eq!(finished.artifact_values("mail"), ["ceo@corp-example.com"]);
}

#[test]
fn a_hash_is_typed_by_its_length() {
    let finished = check("hash", "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709");

    assert_eq!(finished.output["full"]["hash_type"], "sha1");
    assert_eq!(
        finished.output["full"]["normalized"],
        "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    );
}

#[test]
fn an_unsupported_data_type_fails_clearly() {
    let finished = check("registry", "HKLM\\Software");

    assert_eq!(
        finished.error_message(),
        "data type `registry` is not supported by this worker (supported: ip, domain, fqdn, url, mail, hash)"
    );
}
