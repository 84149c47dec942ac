//! First start: the unattended creation of the first superadmin from `[bootstrap]`, reported to
//! `main` as a [`FirstAdmin`].

use anyhow::Context;
pub use skep_service::FirstAdmin;
use skep_service::first_run::{first_admin_login, first_admin_password};

use crate::auth::Identity;
use crate::domain::OrgId;
use crate::domain::user::{self, UserDraft, UserStatus};
use crate::roles::Role;
use crate::state::EngineState;

/// Creates the configured first superadmin when the store has no user yet (migrating the store
/// first). Returns what to show the operator, or `None` when nothing was created.
pub async fn create_first_admin(state: &EngineState) -> anyhow::Result<Option<FirstAdmin>> {
    let settings = &state.config.bootstrap;
    let Some(login) = first_admin_login(settings.admin_login.as_deref()) else {
        return Ok(None);
    };
    crate::api::maintenance::migrate_store(state)
        .await
        .context("cannot migrate the store")?;
    let _only_one = state.first_run.first_user_guard().await;
    if state.has_users().await.context("cannot count users")? {
        return Ok(None);
    }
    let (password, generated_password) = first_admin_password(settings.admin_password.as_ref());
    let draft = UserDraft {
        login: login.clone(),
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
        login,
        generated_password,
    }))
}
