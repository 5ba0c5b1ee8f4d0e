//! A person's own work, as their home page ("My work") shows it: the open issues assigned to
//! them, the open issues they wrote, and the open issues that mention them, each counted with
//! its newest few.

use serde::{Deserialize, Serialize};

use super::issue::{Issue, SEARCH_COUNT_CAP, count_text};

/// Issues each list of "My work" shows; the board shows the rest.
pub const WORK_LIST_SIZE: i64 = 5;

/// One list of "My work": how many issues it holds and the newest of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkList {
    /// Counted up to one past [`SEARCH_COUNT_CAP`] (as a search's hits are): more than the cap
    /// reads "10,000+" (see [`WorkList::count_text`]).
    pub count: i64,
    /// At most [`WORK_LIST_SIZE`], newest first.
    pub issues: Vec<Issue>,
}

impl WorkList {
    /// The count as people read it: `1,234`, or `10,000+` when counting stopped at the cap.
    pub fn count_text(&self) -> String {
        count_text(self.count.min(SEARCH_COUNT_CAP), self.count > SEARCH_COUNT_CAP)
    }
}

/// The caller's open work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyWork {
    /// Open issues assigned to them, newest first.
    pub assigned: WorkList,
    /// Open issues they created, newest first.
    pub created: WorkList,
    /// Open issues whose description or comments mention them, newest mention first.
    pub mentioned: WorkList,
}

#[cfg(test)]
mod tests {
    use super::{SEARCH_COUNT_CAP, WorkList};

    #[test]
    fn a_count_past_the_cap_reads_as_at_least_the_cap() {
        let list = |count| WorkList {
            count,
            issues: Vec::new(),
        };
        assert_eq!(list(3).count_text(), "3");
        assert_eq!(list(SEARCH_COUNT_CAP).count_text(), "10,000");
        assert_eq!(list(SEARCH_COUNT_CAP + 1).count_text(), "10,000+");
    }
}
