//! First start: the server secret (generated once and kept under the data directory when not
//! configured) and the unattended creation of the first superadmin.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use crate::auth::Identity;
use crate::config::EngineConfig;
use crate::domain::OrgId;
use crate::domain::user::{self, UserDraft, UserStatus};
use crate::roles::Role;
use crate::state::EngineState;

/// The first superadmin created from the `[bootstrap]` section, to show the operator once.
#[derive(Clone, PartialEq, Eq)]
pub struct FirstAdmin {
    /// Its login.
    pub login: String,
    /// Its password when it was generated (`None` when it came from the configuration).
    pub generated_password: Option<String>,
}

impl std::fmt::Debug for FirstAdmin {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("FirstAdmin")
            .field("login", &self.login)
            .field(
                "generated_password",
                &self.generated_password.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

/// The server secret: `http.secret` when set, else the one kept in `<data_dir>/engine.secret`,
/// generated on first start.
pub fn server_secret(config: &EngineConfig) -> anyhow::Result<String> {
    if !config.http.secret.is_empty() {
        return Ok(config.http.secret.expose().to_owned());
    }
    let path = config.secret_path();
    match std::fs::read_to_string(&path) {
        Ok(secret) if !secret.trim().is_empty() => Ok(secret.trim().to_owned()),
        Ok(_) => write_new_secret(&path),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => write_new_secret(&path),
        Err(error) => Err(error).with_context(|| {
            format!(
                "cannot read the server secret {}; set http.secret or fix the file's permissions",
                path.display()
            )
        }),
    }
}

fn write_new_secret(path: &Path) -> anyhow::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "cannot create the server secret {}; set http.secret or make data_dir writable",
                path.display()
            )
        })?;
    file.write_all(secret.as_bytes())?;
    Ok(secret)
}

/// Creates the configured first superadmin when the store has no user yet (migrating the store
/// first). Returns what to show the operator, or `None` when nothing was created.
pub async fn create_first_admin(state: &EngineState) -> anyhow::Result<Option<FirstAdmin>> {
    let settings = &state.config.bootstrap;
    if settings.admin_login.trim().is_empty() {
        return Ok(None);
    }
    crate::api::maintenance::migrate_store(state)
        .await
        .context("cannot migrate the store")?;
    if state.has_users().await.context("cannot count users")? {
        return Ok(None);
    }
    let (password, generated_password) = if settings.admin_password.is_empty() {
        let password = skep_auth::password::generate();
        (password.clone(), Some(password))
    } else {
        (settings.admin_password.expose().to_owned(), None)
    };
    let draft = UserDraft {
        login: settings.admin_login.trim().to_owned(),
        name: "Administrator".to_owned(),
        roles: vec![Role::SuperAdmin],
        organization: Some(OrgId::default_org()),
        password: Some(password),
        status: UserStatus::Ok,
        avatar: None,
    };
    user::create(&*state.store, &Identity::init(), draft)
        .await
        .context("cannot create the first superadmin")?;
    state.mark_has_users();
    Ok(Some(FirstAdmin {
        login: settings.admin_login.trim().to_owned(),
        generated_password,
    }))
}
