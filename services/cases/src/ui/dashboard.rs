//! The dashboard: open cases by severity, cases and alerts created per day (last 30 days),
//! mean time to acknowledge and to resolve, top tags and observable types. Every number is a
//! store count or aggregation (bitmaps and cached aggregations in the SQLite store), so the
//! page stays fast on large stores; the charts are SVG from [`super::charts`].

use actix_web::{HttpRequest, web};
use askama::Template;
use serde_json::{Map, Value};
use skep_store::aggregation::{Interval, MetricKind, TermsOrder};
use skep_store::{Aggregation, Query, Store};
use skep_web::Html;

use super::charts;
use super::view;
use super::{UiResult, Viewer};
use crate::domain::{alert, case, observable};
use crate::roles::Role;
use crate::state::CasesState;

/// Registers the routes of this module.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(page));
}

/// Days shown in the per-day chart.
const DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    open_cases: u64,
    open_alerts: u64,
    acknowledge: String,
    resolve: String,
    by_severity: Html,
    per_day: Html,
    top_tags: Html,
    top_types: Html,
}

/// Count buckets of a terms aggregation named `top`: `(term, count)`, largest first.
async fn top_terms(
    store: &dyn Store,
    kind: &str,
    query: &Query,
    field: &str,
) -> Result<Vec<(String, f64)>, skep_http::ApiError> {
    let aggregation = Aggregation::Terms {
        field: field.into(),
        size: 10,
        order: vec![TermsOrder::Count { descending: true }],
        select: vec![Aggregation::Count {
            name: None,
            query: None,
        }],
        name: Some("top".into()),
    };
    let result = store.aggregate(kind, query, &[aggregation]).await?;
    let mut terms: Vec<(String, f64)> = result
        .get("top")
        .and_then(Value::as_object)
        .map(|buckets| {
            buckets
                .iter()
                .map(|(term, bucket)| (term.clone(), first_number(bucket).unwrap_or(0.0)))
                .collect()
        })
        .unwrap_or_default();
    terms.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(terms)
}

/// The first number found in an aggregation result (its `count` or metric).
fn first_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::Object(object) => object.values().find_map(first_number),
        _ => None,
    }
}

/// Documents of `kind` created per day since `since` (day start → count).
async fn per_day(
    store: &dyn Store,
    kind: &str,
    since: i64,
) -> Result<Vec<(i64, f64)>, skep_http::ApiError> {
    let query = Query::Range {
        field: "createdAt".into(),
        op: skep_store::query::RangeOp::Gte,
        value: Value::from(since),
    };
    let aggregation = Aggregation::Time {
        fields: vec!["createdAt".into()],
        interval: Interval::Days(1),
        select: vec![Aggregation::Count {
            name: None,
            query: None,
        }],
        name: Some("days".into()),
    };
    let result = store.aggregate(kind, &query, &[aggregation]).await?;
    let buckets = result
        .get("days")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_else(|| result.clone());
    let counted: Map<String, Value> = buckets;
    let mut days: Vec<(i64, f64)> = (0..DAYS)
        .map(|offset| (since + offset * DAY_MS, 0.0))
        .collect();
    for (key, bucket) in &counted {
        let Ok(start) = key.parse::<i64>() else {
            continue;
        };
        let count = first_number(bucket).unwrap_or(0.0);
        if let Some(day) = days
            .iter_mut()
            .find(|(day, _)| *day <= start && start < *day + DAY_MS)
        {
            day.1 += count;
        }
    }
    Ok(days)
}

/// The mean of a numeric field over cases matching `query`, if any case has it.
async fn mean(
    store: &dyn Store,
    query: &Query,
    field: &str,
) -> Result<Option<f64>, skep_http::ApiError> {
    let having = query.clone().and(Query::Exists(field.into()));
    if store.count(case::KIND, &having).await? == 0 {
        return Ok(None);
    }
    let aggregation = Aggregation::Metric {
        kind: MetricKind::Avg,
        field: field.into(),
        name: Some("mean".into()),
        query: None,
    };
    let result = store.aggregate(case::KIND, &having, &[aggregation]).await?;
    Ok(result.get("mean").and_then(first_number))
}

/// Seconds as `3 h 20 min`, `2 d 4 h`, `45 s`; `—` when unknown.
fn duration(seconds: Option<f64>) -> String {
    let Some(seconds) = seconds else {
        return "—".into();
    };
    let seconds = seconds.max(0.0).round() as u64;
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3_600 => format!("{} min", seconds / 60),
        3_600..86_400 => format!("{} h {} min", seconds / 3_600, seconds % 3_600 / 60),
        _ => format!("{} d {} h", seconds / 86_400, seconds % 86_400 / 3_600),
    }
}

/// `GET /dashboard`.
async fn page(state: web::Data<CasesState>, request: HttpRequest, viewer: Viewer) -> UiResult {
    if !viewer.roles.contains(Role::Read) {
        return Err(crate::auth::insufficient_rights().into());
    }
    let store = &*state.store;
    let open = Query::eq("status", "Open");
    let mut by_severity = Vec::new();
    for (severity, name) in view::SEVERITIES {
        let count = store
            .count(
                case::KIND,
                &open.clone().and(Query::eq("severity", severity)),
            )
            .await?;
        by_severity.push((name.to_owned(), count as f64));
    }
    let open_cases = by_severity.iter().map(|(_, count)| *count as u64).sum();
    let unread_alerts = Query::In {
        field: "status".into(),
        values: vec!["New".into(), "Updated".into()],
    };
    let open_alerts = store.count(alert::KIND, &unread_alerts).await?;
    let today = chrono::Utc::now().timestamp_millis() / DAY_MS * DAY_MS;
    let since = today - (DAYS - 1) * DAY_MS;
    let cases_per_day = per_day(store, case::KIND, since).await?;
    let alerts_per_day = per_day(store, alert::KIND, since).await?;
    let live_cases = Query::Not(Box::new(Query::eq("status", "Deleted")));
    let acknowledge = mean(store, &live_cases, "computed.timeToAcknowledgeSeconds").await?;
    let resolve = mean(
        store,
        &Query::eq("status", "Resolved"),
        "computed.timeToResolveSeconds",
    )
    .await?;
    let tags = top_terms(store, case::KIND, &live_cases, "tags").await?;
    let types = top_terms(
        store,
        observable::KIND,
        &Query::eq("status", "Ok"),
        "dataType",
    )
    .await?;
    let page = DashboardPage {
        open_cases,
        open_alerts,
        acknowledge: duration(acknowledge),
        resolve: duration(resolve),
        by_severity: Html::from_trusted(charts::bars(
            "Open cases by severity",
            &by_severity,
            &charts::SEVERITY_COLOURS,
        )),
        per_day: Html::from_trusted(charts::lines(
            "Created per day (30 days)",
            &[("cases", cases_per_day), ("alerts", alerts_per_day)],
        )),
        top_tags: Html::from_trusted(charts::bars("Top tags", &tags, &[])),
        top_types: Html::from_trusted(charts::bars("Top observable types", &types, &[])),
    };
    viewer.page(&request, "Dashboard", &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_the_largest_useful_unit() {
        assert_eq!(duration(None), "—");
        assert_eq!(duration(Some(42.0)), "42 s");
        assert_eq!(duration(Some(7_260.0)), "2 h 1 min");
        assert_eq!(duration(Some(190_000.0)), "2 d 4 h");
    }
}
