-- Back-channel logout tokens already acted on, by `jti`, kept until they could no longer be
-- accepted anyway: a replayed token is refused, on every instance sharing the database.
CREATE TABLE logout_tokens_seen (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX logout_tokens_seen_expires_at ON logout_tokens_seen (expires_at);
