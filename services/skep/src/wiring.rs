//! How the launcher connects the services it starts, before the cases service is built.
//!
//! The seam for the cases → engine connector: [`wire_cases_to_engine`] runs after the engine is
//! built (its store open, its first superadmin created) and before the cases service is, and may
//! complete the cases configuration (`cases.engine`: URL and API key of an engine user it
//! creates in an engine organisation on a fresh data directory). A configuration that already
//! sets `cases.engine` is left alone.

/// Completes `cases` so that it reaches `engine`. Today it does nothing: the automatic engine
/// organisation, user and key come with the connector.
pub async fn wire_cases_to_engine(
    _engine: &skep_engine::Application,
    _cases: &mut skep_cases::CasesConfig,
) -> anyhow::Result<()> {
    Ok(())
}
