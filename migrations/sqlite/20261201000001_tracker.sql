-- The tracker. Issues gain a status (with who closed them and when), an assignee, a version
-- for optimistic concurrency (every change bumps it), a comment count and soft deletion.
ALTER TABLE issues ADD COLUMN status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed'));
ALTER TABLE issues ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE issues ADD COLUMN closed_at INTEGER;
ALTER TABLE issues ADD COLUMN closed_by_sub TEXT;
ALTER TABLE issues ADD COLUMN closed_by_name TEXT;
ALTER TABLE issues ADD COLUMN assignee_sub TEXT;
ALTER TABLE issues ADD COLUMN assignee_name TEXT;
ALTER TABLE issues ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE issues ADD COLUMN comment_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE issues ADD COLUMN deleted_at INTEGER;
UPDATE issues SET updated_at = created_at;

-- The board's filters, newest first, over issues not deleted.
CREATE INDEX issues_live ON issues (id) WHERE deleted_at IS NULL;
CREATE INDEX issues_by_status ON issues (status, id) WHERE deleted_at IS NULL;
CREATE INDEX issues_by_assignee ON issues (assignee_sub, status, id) WHERE deleted_at IS NULL;
CREATE INDEX issues_by_author ON issues (author_sub, status, id) WHERE deleted_at IS NULL;

CREATE TABLE comments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    issue_id    INTEGER NOT NULL REFERENCES issues (id),
    body        TEXT    NOT NULL,
    author_sub  TEXT    NOT NULL,
    author_name TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX comments_by_issue ON comments (issue_id, id);

-- People who have signed in: whom an issue can be assigned to.
CREATE TABLE people (
    sub          TEXT    PRIMARY KEY,
    name         TEXT    NOT NULL,
    last_seen_at INTEGER NOT NULL
);

-- Issues per status (not deleted), kept by triggers: the board's counts without a scan.
CREATE TABLE issue_counts (
    status TEXT    PRIMARY KEY,
    n      INTEGER NOT NULL
);
INSERT INTO issue_counts (status, n)
    SELECT 'open', COUNT(*) FROM issues WHERE status = 'open' AND deleted_at IS NULL;
INSERT INTO issue_counts (status, n)
    SELECT 'closed', COUNT(*) FROM issues WHERE status = 'closed' AND deleted_at IS NULL;
CREATE TRIGGER issue_counts_insert AFTER INSERT ON issues WHEN new.deleted_at IS NULL BEGIN
    UPDATE issue_counts SET n = n + 1 WHERE status = new.status;
END;
CREATE TRIGGER issue_counts_update AFTER UPDATE OF status, deleted_at ON issues BEGIN
    UPDATE issue_counts SET n = n - 1 WHERE status = old.status AND old.deleted_at IS NULL;
    UPDATE issue_counts SET n = n + 1 WHERE status = new.status AND new.deleted_at IS NULL;
END;

-- Full-text search over titles, descriptions and comments (FTS5 indexes over the tables).
CREATE VIRTUAL TABLE issue_search USING fts5 (
    title, description, content = 'issues', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO issue_search (issue_search) VALUES ('rebuild');
CREATE TRIGGER issue_search_insert AFTER INSERT ON issues BEGIN
    INSERT INTO issue_search (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE TRIGGER issue_search_update AFTER UPDATE OF title, description ON issues BEGIN
    INSERT INTO issue_search (issue_search, rowid, title, description)
        VALUES ('delete', old.id, old.title, old.description);
    INSERT INTO issue_search (rowid, title, description) VALUES (new.id, new.title, new.description);
END;
CREATE VIRTUAL TABLE comment_search USING fts5 (
    body, content = 'comments', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER comment_search_insert AFTER INSERT ON comments BEGIN
    INSERT INTO comment_search (rowid, body) VALUES (new.id, new.body);
END;
