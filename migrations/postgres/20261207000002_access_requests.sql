-- A person's request for access they were refused: which action, the scopes it lacked and the
-- roles that grant them (as the refusal named them), why they ask; then an admin's answer
-- (granted or declined, with a note). The app cannot grant at the identity provider: "granted"
-- records that the admin did it there.
CREATE TABLE access_requests (
    id          BIGSERIAL PRIMARY KEY,
    sub         TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    -- access::Permission::name(), e.g. close_issue.
    permission  TEXT    NOT NULL,
    -- Space separated.
    scopes      TEXT    NOT NULL,
    -- A JSON array of role names.
    roles       TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    -- open, granted or declined.
    state       TEXT    NOT NULL,
    note        TEXT    NOT NULL DEFAULT '',
    decided_by  TEXT,
    created_at  BIGINT NOT NULL,
    decided_at  BIGINT
);
-- One open request per person and action: asking again replaces the reason.
CREATE UNIQUE INDEX access_requests_open ON access_requests (sub, permission) WHERE state = 'open';
CREATE INDEX access_requests_by_state ON access_requests (state, created_at);
CREATE INDEX access_requests_by_sub ON access_requests (sub, created_at);
