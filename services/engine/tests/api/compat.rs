//! cortex4py 2.1.0, the real client, against a real engine: organisations, users and keys.

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cortex4py_manages_organizations_users_and_keys() {
    let app = TestApp::spawn().await;
    let script = skep_testkit::workspace_root().join("tests/compat/cortex4py_tenancy.py");
    let address = app.address.clone();
    let key = app.admin_key.clone();

    let output = tokio::task::spawn_blocking(move || {
        skep_testkit::run_python(&script, &[&address, &key], &[])
    })
    .await
    .unwrap();

    assert!(
        output.status.success(),
        "{}",
        skep_testkit::describe_output(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("cortex4py tenancy: OK"),
        "{}",
        skep_testkit::describe_output(&output)
    );
}
