//! Case metrics computed by the service and stored under the case's `computed` key, so that
//! searches and `_stats` can filter, sort and aggregate them (`computed.timeToResolveSeconds`):
//!
//! - `timeToDetectSeconds`: case `startDate` − the earliest `date` of the alerts imported into
//!   it; absent when the case did not come from an alert.
//! - `timeToAcknowledgeSeconds`: the first sign of work (the earliest task `startDate`, or the
//!   case's first update) − `createdAt`; frozen once known.
//! - `timeToResolveSeconds`: `endDate` − `startDate`, while the case is closed (next to
//!   TheHive's `handlingDuration*`, kept up to date by [`crate::domain::case`]).
//!
//! They are refreshed after every request that touched the case (see [`crate::domain::audit`]).

use serde_json::{Map, Value, json};
use skep_store::{Page, Query, Sort, Store};

use crate::domain::audit::AuditRecord;
use crate::domain::entity::child_of;

/// Store kind of cases.
const CASE_KIND: &str = "case";
/// Store kind of tasks.
const TASK_KIND: &str = "case_task";
/// Store kind of alerts.
const ALERT_KIND: &str = "alert";
/// Key of the computed metrics in a case body.
pub const COMPUTED_KEY: &str = "computed";

/// What the metrics are computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricInputs {
    /// Case creation, epoch ms.
    pub created_at: Option<i64>,
    /// Case start, epoch ms.
    pub start_date: Option<i64>,
    /// Case end, epoch ms (closed cases).
    pub end_date: Option<i64>,
    /// The case's last update, epoch ms (absent when never updated).
    pub updated_at: Option<i64>,
    /// The earliest `date` of the alerts imported into the case.
    pub earliest_alert_date: Option<i64>,
    /// The earliest task `startDate`.
    pub first_task_start: Option<i64>,
    /// A time to acknowledge computed earlier (kept).
    pub known_acknowledge_seconds: Option<i64>,
}

/// The keys of `computed` this module owns.
pub const METRIC_KEYS: [&str; 3] = [
    "timeToDetectSeconds",
    "timeToAcknowledgeSeconds",
    "timeToResolveSeconds",
];

/// Computes the metrics of a case.
pub fn compute(inputs: &MetricInputs) -> Map<String, Value> {
    let mut computed = Map::new();
    let seconds = |later: i64, earlier: i64| (later - earlier) / 1000;
    if let (Some(start), Some(alert)) = (inputs.start_date, inputs.earliest_alert_date) {
        computed.insert("timeToDetectSeconds".into(), json!(seconds(start, alert)));
    }
    let first_work = [inputs.first_task_start, inputs.updated_at]
        .into_iter()
        .flatten()
        .min();
    let acknowledge = inputs
        .known_acknowledge_seconds
        .or_else(|| Some(seconds(first_work?, inputs.created_at?).max(0)));
    if let Some(acknowledge) = acknowledge {
        computed.insert("timeToAcknowledgeSeconds".into(), json!(acknowledge));
    }
    if let (Some(start), Some(end)) = (inputs.start_date, inputs.end_date) {
        let duration = seconds(end, start);
        computed.insert("timeToResolveSeconds".into(), json!(duration));
    }
    computed
}

/// Refreshes the metrics of every case the records touched (cases, their tasks, and alerts
/// linked to a case).
pub async fn refresh_touched_cases(store: &dyn Store, records: &[AuditRecord]) {
    let mut cases: Vec<&str> = Vec::new();
    for entry in records {
        let case_id = match entry.object_type.as_str() {
            "case" | "case_task" => Some(entry.root_id.as_str()),
            "alert" => entry
                .object
                .as_ref()
                .and_then(|object| object.get("case"))
                .and_then(Value::as_str),
            _ => None,
        };
        if let Some(case_id) = case_id.filter(|id| !cases.contains(id)) {
            cases.push(case_id);
        }
    }
    for case_id in cases {
        if let Err(error) = refresh(store, case_id).await {
            tracing::warn!(error = ?error, case_id, "refreshing case metrics failed");
        }
    }
}

/// Recomputes and stores the metrics of one case (no audit: derived data).
pub async fn refresh(store: &dyn Store, case_id: &str) -> skep_store::Result<()> {
    let case = match store.get(CASE_KIND, case_id).await {
        Ok(case) => case,
        Err(skep_store::StoreError::NotFound { .. }) => return Ok(()),
        Err(error) => return Err(error),
    };
    let date = |key: &str| case.body.get(key).and_then(Value::as_i64);
    let earliest = |kind: &'static str, query: Query, field: &'static str| async move {
        let sort = [Sort {
            field: field.to_owned(),
            descending: false,
        }];
        let query = query.and(Query::Exists(field.to_owned()));
        let hits = store
            .search(
                kind,
                &query,
                Page {
                    offset: 0,
                    limit: Some(1),
                },
                &sort,
            )
            .await?;
        Ok::<_, skep_store::StoreError>(
            hits.documents
                .first()
                .and_then(|document| document.body.get(field))
                .and_then(Value::as_i64),
        )
    };
    let known = case
        .body
        .get(COMPUTED_KEY)
        .and_then(|computed| computed.get("timeToAcknowledgeSeconds"));
    let inputs = MetricInputs {
        created_at: date("createdAt"),
        start_date: date("startDate"),
        end_date: date("endDate"),
        updated_at: date("updatedAt"),
        earliest_alert_date: earliest(ALERT_KIND, Query::eq("case", case_id), "date").await?,
        first_task_start: earliest(TASK_KIND, child_of(CASE_KIND, case_id), "startDate").await?,
        known_acknowledge_seconds: known.and_then(Value::as_i64),
    };
    let mut computed = case
        .body
        .get(COMPUTED_KEY)
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    computed.retain(|key, _| !METRIC_KEYS.contains(&key.as_str()));
    computed.extend(compute(&inputs));
    let computed = Value::Object(computed);
    if case.body.get(COMPUTED_KEY) == Some(&computed) {
        return Ok(());
    }
    let mut body = case.body;
    body.insert(COMPUTED_KEY.into(), computed);
    match store
        .update(CASE_KIND, case_id, Some(case.version), body)
        .await
    {
        // A concurrent write won: the next request on the case refreshes again.
        Err(error @ skep_store::StoreError::Conflict { .. }) => {
            tracing::debug!(error = %error, case_id, "case changed while refreshing metrics");
            Ok(())
        }
        other => other.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_case_from_an_alert_has_every_metric() {
        let inputs = MetricInputs {
            created_at: Some(100_000),
            start_date: Some(100_000),
            end_date: Some(7_300_000),
            updated_at: Some(160_000),
            earliest_alert_date: Some(40_000),
            first_task_start: Some(130_000),
            known_acknowledge_seconds: None,
        };

        let computed = compute(&inputs);

        assert_eq!(
            Value::Object(computed),
            json!({"timeToDetectSeconds": 60, "timeToAcknowledgeSeconds": 30, "timeToResolveSeconds": 7200})
        );
    }

    #[test]
    fn an_untouched_case_has_no_metric_and_acknowledgement_stays_frozen() {
        let fresh = MetricInputs {
            created_at: Some(1),
            start_date: Some(1),
            ..MetricInputs::default()
        };
        assert!(compute(&fresh).is_empty());

        let later = MetricInputs {
            updated_at: Some(999_000),
            known_acknowledge_seconds: Some(5),
            ..fresh
        };
        assert_eq!(compute(&later)["timeToAcknowledgeSeconds"], json!(5));
    }
}
