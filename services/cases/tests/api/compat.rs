//! thehive4py 1.8.1 drives cases, tasks, logs, observables, searches and downloads
//! (`tests/compat/thehive4py_core.py`).

use crate::helpers::TestApp;

#[tokio::test]
async fn thehive4py_case_task_log_and_observable_calls_work_end_to_end() {
    let app = TestApp::spawn().await;
    let script = skep_testkit::workspace_root().join("tests/compat/thehive4py_core.py");
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
