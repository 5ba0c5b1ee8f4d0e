-- The board's sorts under a status filter (the open issues by priority, by last update, by due
-- date) read in order from an index instead of sorting every open issue.
CREATE INDEX issues_by_status_priority ON issues (status, priority, id) WHERE deleted_at IS NULL;
CREATE INDEX issues_by_status_updated ON issues (status, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX issues_by_status_due ON issues (status, due_date, id) WHERE deleted_at IS NULL AND due_date IS NOT NULL;
