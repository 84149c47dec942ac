//! Observable similarity (spec §5.4): same data type and data; hashes match files carrying
//! them and files match each other by any hash. Used by links, `similar` and `stats.seen`.

use serde_json::Value;
use skep_http::ApiError;
use skep_store::{Document, Page, Query, Store};

use super::{case, entity, observable};

/// The query of observables similar to `item` (any case, any status).
pub fn similar_query(item: &Document) -> Option<Query> {
    let body = &item.body;
    let data_type = body.get("dataType").and_then(Value::as_str)?;
    if let Some(attachment) = body
        .get("attachment")
        .and_then(super::datastore::Attachment::from_json)
    {
        let hashes: Vec<Value> = if attachment.hashes.is_empty() {
            vec![Value::from(attachment.id.clone())]
        } else {
            attachment.hashes.iter().cloned().map(Value::from).collect()
        };
        return Some(Query::Or(vec![
            Query::In {
                field: "attachment.hashes".into(),
                values: hashes.clone(),
            },
            Query::eq("dataType", "hash").and(Query::In {
                field: "data".into(),
                values: hashes,
            }),
        ]));
    }
    let data = body.get("data").and_then(Value::as_str)?;
    let same = Query::eq("dataType", data_type).and(Query::eq("data", data));
    if data_type == "hash" {
        return Some(Query::Or(vec![same, Query::eq("attachment.hashes", data)]));
    }
    Some(same)
}

/// Observables similar to `item` in other cases: status Ok, their case neither Deleted nor a
/// Duplicated merge source. Returns each with its case.
pub async fn similar_in_other_cases(
    store: &dyn Store,
    item: &Document,
) -> Result<Vec<(Document, Document)>, ApiError> {
    let Some(query) = similar_query(item) else {
        return Ok(Vec::new());
    };
    let own_case = item.parent.clone().unwrap_or_default();
    let query = query
        .and(Query::eq("status", "Ok"))
        .and(Query::Not(Box::new(entity::child_of(
            case::KIND,
            &own_case,
        ))));
    let hits = store
        .search(observable::KIND, &query, Page::ALL, &[])
        .await?;
    let mut found = Vec::new();
    for other in hits.documents {
        let Some(case_id) = other.parent.clone() else {
            continue;
        };
        let Ok(parent) = store.get(case::KIND, &case_id).await else {
            continue;
        };
        if is_live_case(&parent) {
            found.push((other, parent));
        }
    }
    Ok(found)
}

/// True for cases that count in similarity: not Deleted, not a Duplicated merge source.
pub fn is_live_case(document: &Document) -> bool {
    document.body.get("status").and_then(Value::as_str) != Some("Deleted")
        && document
            .body
            .get("resolutionStatus")
            .and_then(Value::as_str)
            != Some("Duplicated")
}

/// The cases linked to `case_id` (`GET /api/case/:id/links`): live cases holding an observable
/// similar to one of this case's, each without `description`, with `linkedWith` (its matching
/// observables) and `linksCount`, newest `startDate` first.
pub async fn linked_cases(store: &dyn Store, case_id: &str) -> Result<Vec<Value>, ApiError> {
    let own = entity::child_of(case::KIND, case_id).and(Query::eq("status", "Ok"));
    let observables = store.search(observable::KIND, &own, Page::ALL, &[]).await?;
    let mut linked: Vec<(Document, Vec<Value>, Vec<String>)> = Vec::new();
    for item in &observables.documents {
        for (other, parent) in similar_in_other_cases(store, item).await? {
            let position = match linked
                .iter()
                .position(|(known, _, _)| known.id == parent.id)
            {
                Some(position) => position,
                None => {
                    linked.push((parent, Vec::new(), Vec::new()));
                    linked.len() - 1
                }
            };
            let (_, with, seen) = &mut linked[position];
            if !seen.contains(&other.id) {
                seen.push(other.id.clone());
                with.push(Value::Object(observable::render(&other)));
            }
        }
    }
    linked.sort_by_key(|(parent, _, _)| {
        std::cmp::Reverse(
            parent
                .body
                .get("startDate")
                .and_then(Value::as_i64)
                .unwrap_or(0),
        )
    });
    Ok(linked
        .into_iter()
        .map(|(parent, with, _)| {
            let mut output = case::render(&parent);
            output.remove("description");
            output.insert("linksCount".into(), Value::from(with.len()));
            output.insert("linkedWith".into(), Value::from(with));
            Value::Object(output)
        })
        .collect())
}
