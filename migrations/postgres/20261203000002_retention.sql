-- Erasure: deleted issues past Server.DeletedRetentionDays are found by when they were deleted.
CREATE INDEX issues_deleted ON issues (deleted_at) WHERE deleted_at IS NOT NULL;
-- (PostgreSQL's search columns are generated: they go with their rows.)
-- The audit trail's "who" filter matches a name as well as a sub: both sides indexed.
CREATE INDEX audit_events_actor_name ON audit_events (actor_name, id);
