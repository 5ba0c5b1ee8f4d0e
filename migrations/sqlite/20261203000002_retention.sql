-- Erasure: deleted issues past Server.DeletedRetentionDays are found by when they were deleted.
CREATE INDEX issues_deleted ON issues (deleted_at) WHERE deleted_at IS NOT NULL;
-- An erased issue or comment leaves the full-text index too (external-content FTS5 tables are
-- told what to forget).
CREATE TRIGGER issue_search_delete AFTER DELETE ON issues BEGIN
    INSERT INTO issue_search (issue_search, rowid, title, description)
        VALUES ('delete', old.id, old.title, old.description);
END;
CREATE TRIGGER comment_search_delete AFTER DELETE ON comments BEGIN
    INSERT INTO comment_search (comment_search, rowid, body) VALUES ('delete', old.id, old.body);
END;
-- The audit trail's "who" filter matches a name as well as a sub: both sides indexed.
CREATE INDEX audit_events_actor_name ON audit_events (actor_name, id);
