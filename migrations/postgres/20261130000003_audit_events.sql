-- The audit trail: sign-ins (and refusals), sign-outs, refused authorizations and changes to
-- issues, with who, when and the request. Rows older than Server.AuditRetentionDays are purged.
CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    request_id TEXT,
    event TEXT NOT NULL,
    outcome TEXT NOT NULL,
    actor_sub TEXT,
    actor_name TEXT,
    client_id TEXT,
    permission TEXT,
    missing_scopes TEXT,
    via TEXT,
    detail TEXT
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_actor ON audit_events (actor_sub, id);
