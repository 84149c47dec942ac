//! thehive4py 1.8.1 drives alerts, case templates and custom fields
//! (`tests/compat/thehive4py_alerts.py`).

use crate::helpers::TestApp;

#[tokio::test]
async fn thehive4py_alert_template_and_custom_field_calls_work_end_to_end() {
    let app = TestApp::spawn().await;
    let script = skep_testkit::workspace_root().join("tests/compat/thehive4py_alerts.py");
    let (address, key) = (app.address.clone(), app.admin_key.clone());

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
}
