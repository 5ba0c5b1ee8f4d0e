//! Acting on many issues at once: the board's bulk actions (what each issue came to) and the
//! deleted issues an admin may restore.

use serde::{Deserialize, Serialize};

/// Issues one bulk action may name.
pub const BULK_MAX: usize = 100;

/// Deleted issues the "Deleted" view lists (the most recently deleted).
pub const DELETED_LIST_MAX: i64 = 100;

/// What a bulk action came to for one issue: done, or the problem (a refusal says why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOutcome {
    pub id: i64,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The issue ids of a bulk action, written comma separated: each a number, each once, in the
/// order given; at least one and at most [`BULK_MAX`].
pub fn parse_bulk_ids(text: &str) -> Result<Vec<i64>, String> {
    let mut ids: Vec<i64> = Vec::new();
    for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
        let id = part
            .parse::<i64>()
            .map_err(|_| format!("`{part}` is not an issue number"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
        if ids.len() > BULK_MAX {
            return Err(format!("choose at most {BULK_MAX} issues at once"));
        }
    }
    match ids.is_empty() {
        true => Err("choose at least one issue".into()),
        false => Ok(ids),
    }
}

/// A deleted issue not yet erased: when it was deleted and by whom (from its history).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DeletedIssue {
    pub id: i64,
    pub title: String,
    /// Milliseconds since the Unix epoch.
    pub deleted_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_ids_are_numbers_each_once_and_bounded() {
        assert_eq!(parse_bulk_ids(" 3, 1,3 ,").unwrap(), [3, 1]);
        assert!(parse_bulk_ids("").is_err());
        assert!(parse_bulk_ids(" , ").is_err());
        assert!(parse_bulk_ids("1,x").is_err());
        let many: Vec<String> = (1..=101).map(|id| id.to_string()).collect();
        assert!(parse_bulk_ids(&many.join(",")).is_err());
        assert_eq!(parse_bulk_ids(&many[..100].join(",")).unwrap().len(), 100);
    }
}
