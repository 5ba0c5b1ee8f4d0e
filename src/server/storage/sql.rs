//! Queries assembled at run time (the board's filters, partial updates): the SQL text with
//! `$N` placeholders and the values bound to them, in order. Both backends accept the text.

#[derive(Clone)]
pub enum Param {
    Int(i64),
    Text(String),
    /// A text value that may be NULL.
    OptText(Option<String>),
    /// An integer that may be NULL.
    OptInt(Option<i64>),
}

#[derive(Default)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
}

impl Sql {
    /// Appends `text`.
    pub fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Binds `value` and returns its placeholder (`$N`).
    pub fn bind(&mut self, value: Param) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }
}

/// Binds every parameter of `$sql` to `$query` (a `sqlx::query` or `query_as` on `$sql.text`).
#[macro_export]
macro_rules! bind_all {
    ($query:expr, $sql:expr) => {{
        let mut query = $query;
        for param in &$sql.params {
            query = match param {
                $crate::server::storage::sql::Param::Int(value) => query.bind(*value),
                $crate::server::storage::sql::Param::Text(value) => query.bind(value.as_str()),
                $crate::server::storage::sql::Param::OptText(value) => query.bind(value.as_deref()),
                $crate::server::storage::sql::Param::OptInt(value) => query.bind(*value),
            };
        }
        query
    }};
}

/// Keyset pagination: `rows` were fetched with `LIMIT limit + 1`. Keeps `limit` of them and
/// answers the key to continue from (the last kept row's) when there were more.
pub fn keyset_page<T>(rows: &mut Vec<T>, limit: i64, key: impl Fn(&T) -> i64) -> Option<i64> {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(key)
    } else {
        None
    }
}
