-- Triage: a priority (0 none, 1 low, 2 medium, 3 high, 4 urgent) and a due date (YYYY-MM-DD)
-- per issue, labels defined once and put on issues, and each issue's history of changes.
ALTER TABLE issues
    ADD COLUMN priority BIGINT NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 4),
    ADD COLUMN due_date TEXT;

-- The board's sorts other than newest first, over issues not deleted.
CREATE INDEX issues_by_priority ON issues (priority, id) WHERE deleted_at IS NULL;
CREATE INDEX issues_by_due ON issues (due_date, id) WHERE deleted_at IS NULL AND due_date IS NOT NULL;
CREATE INDEX issues_by_updated ON issues (updated_at, id) WHERE deleted_at IS NULL;

CREATE TABLE labels (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT   NOT NULL,
    -- The name as compared: `Bug` and `bug` are one label.
    name_key    TEXT   NOT NULL UNIQUE,
    color       TEXT   NOT NULL,
    description TEXT   NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL
);

CREATE TABLE issue_labels (
    issue_id BIGINT NOT NULL REFERENCES issues (id),
    label_id BIGINT NOT NULL REFERENCES labels (id),
    PRIMARY KEY (issue_id, label_id)
);
CREATE INDEX issue_labels_by_label ON issue_labels (label_id, issue_id);

-- What happened to each issue, oldest first: kept as long as the issue (not the audit trail's
-- retention). `old_value`/`new_value` as people read them (a name, a date, a label's name).
CREATE TABLE issue_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id   BIGINT NOT NULL REFERENCES issues (id),
    kind       TEXT   NOT NULL,
    old_value  TEXT,
    new_value  TEXT,
    actor_sub  TEXT   NOT NULL,
    actor_name TEXT   NOT NULL,
    at         BIGINT NOT NULL
);
CREATE INDEX issue_events_by_issue ON issue_events (issue_id, id);
