//! cortex4py 2.1.0, the real client, against a real engine running real cortexutils workers:
//! analyzers, responders and jobs.

use crate::worker_fixture::Fixture;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cortex4py_enables_analyzers_runs_jobs_and_reads_reports() {
    let fixture = Fixture::spawn().await;
    let script = skep_testkit::workspace_root().join("tests/compat/cortex4py_jobs.py");
    let address = fixture.app.address.clone();
    let (admin, analyst) = (fixture.admin.clone(), fixture.analyst.clone());

    let output = tokio::task::spawn_blocking(move || {
        skep_testkit::run_python(&script, &[&address, &admin, &analyst], &[])
    })
    .await
    .unwrap();

    assert!(
        output.status.success(),
        "{}",
        skep_testkit::describe_output(&output)
    );
}
