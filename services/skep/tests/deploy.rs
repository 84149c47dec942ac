//! The deployment files, checked without Docker or systemd: `docker-compose.yml` against the
//! Compose Specification's schema with every file and variable it references
//! (`tests/compat/compose_check.py`), the Dockerfile's build against the workspace's binaries,
//! and the systemd units' hardening.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    skep_testkit::workspace_root()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Every binary target of the workspace's members, from `cargo metadata`.
fn workspace_binaries() -> BTreeSet<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        skep_testkit::describe_output(&output)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|package| package["targets"].as_array().unwrap().iter())
        .filter(|target| {
            target["kind"]
                .as_array()
                .unwrap()
                .iter()
                .any(|kind| kind == "bin")
        })
        .map(|target| target["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Whether `binary` is a workspace binary — or is `skep-ingest` while the ingest service is not
/// in this tree yet (it is built on its own branch; once `services/ingest` exists the check is
/// strict).
fn is_built(binary: &str, binaries: &BTreeSet<String>) -> bool {
    binaries.contains(binary)
        || (binary == "skep-ingest" && !root().join("services/ingest").exists())
}

fn compose_check(dir: &Path) -> std::process::Output {
    skep_testkit::run_python(
        &root().join("tests/compat/compose_check.py"),
        &[dir.to_str().unwrap()],
        &[],
    )
}

#[test]
fn the_compose_file_is_valid_and_everything_it_references_exists() {
    let output = compose_check(&root());

    assert!(
        output.status.success(),
        "{}",
        skep_testkit::describe_output(&output)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("docker-compose.yml: ok"));
}

#[test]
fn the_compose_check_fails_on_an_undocumented_variable_and_a_missing_file() {
    let copy = skep_testkit::temp_dir();
    for file in [
        ".env.example",
        "tests/compat/compose-spec/compose-spec.json",
        "deploy/generate-env.sh",
        "deploy/Dockerfile",
    ] {
        let target = copy.path().join(file);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(root().join(file), target).unwrap();
    }
    let broken = read("docker-compose.yml")
        .replace(
            "RUST_LOG: ${RUST_LOG:-info}",
            "RUST_LOG: ${SKEP_UNDOCUMENTED:-info}",
        )
        .replace(
            "./deploy/docker/engine.toml:",
            "./deploy/docker/missing.toml:",
        )
        .replace(
            "    image: skep-cases:local\n",
            "    image: skep-cases:local\n    colour: blue\n",
        );
    std::fs::write(copy.path().join("docker-compose.yml"), broken).unwrap();

    let output = compose_check(copy.path());

    assert!(!output.status.success());
    let report = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "SKEP_UNDOCUMENTED is used by docker-compose.yml but not in .env.example",
        "mounted path ./deploy/docker/missing.toml does not exist",
        "schema:",
    ] {
        assert!(
            report.contains(expected),
            "{expected} missing from:\n{report}"
        );
    }
}

#[test]
fn the_dockerfile_builds_and_ships_every_workspace_binary_the_deployment_runs() {
    let dockerfile = read("deploy/Dockerfile");
    let binaries = workspace_binaries();

    // The same build as the tests' (`cargo build --workspace --bins`), released and locked.
    assert!(
        dockerfile.contains("cargo build --release --locked --workspace --bins"),
        "{dockerfile}"
    );
    // The build stage copies every `skep*` executable into the image.
    assert!(dockerfile.contains("-name 'skep*'"));
    for binary in &binaries {
        assert!(
            binary.starts_with("skep"),
            "{binary} would not be copied into the image"
        );
    }
    // Every command the images and the compose file run is one of those binaries.
    let compose = read("docker-compose.yml");
    let commands = dockerfile
        .lines()
        .chain(compose.lines())
        .filter_map(|line| line.split("[\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .filter(|program| program.starts_with("skep"))
        .map(str::to_owned)
        .collect::<BTreeSet<_>>();
    assert!(commands.contains("skep-cases") && commands.contains("skep-engine"));
    for command in &commands {
        assert!(
            is_built(command, &binaries),
            "`{command}` is run by the deployment but is not a workspace binary ({binaries:?})"
        );
    }
    // Non-root, and health checks on /api/status for both HTTP services.
    assert!(dockerfile.contains("USER skep"));
    assert!(!dockerfile.contains("USER root"));
    assert_eq!(dockerfile.matches("/api/status").count(), 2);
}

#[test]
fn every_systemd_unit_runs_a_workspace_binary_as_skep_with_hardening() {
    let binaries = workspace_binaries();
    for service in ["cases", "engine", "ingest"] {
        let unit = read(&format!("deploy/systemd/skep-{service}.service"));
        let binary = format!("skep-{service}");
        for line in [
            "User=skep".to_owned(),
            "NoNewPrivileges=yes".to_owned(),
            "ProtectSystem=strict".to_owned(),
            "ProtectHome=yes".to_owned(),
            "PrivateTmp=yes".to_owned(),
            format!("StateDirectory=skep/{service}"),
            format!("ExecStart=/usr/bin/{binary} --config /etc/skep/{service}.toml"),
            format!("ExecStartPre=/usr/bin/{binary} --check-config /etc/skep/{service}.toml"),
        ] {
            assert!(
                unit.lines().any(|have| have == line),
                "skep-{service}.service lacks `{line}`"
            );
        }
        assert!(
            is_built(&binary, &binaries),
            "{binary} is not a workspace binary"
        );
    }
}
