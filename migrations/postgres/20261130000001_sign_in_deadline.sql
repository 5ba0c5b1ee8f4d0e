-- When a sign-in ends unless its session is used again (its session's idle deadline), so a
-- sign-in whose session ended is purged with its sealed refresh token. Rows from before get the
-- default idle timeout from their last refresh.
ALTER TABLE sign_ins ADD COLUMN expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE sign_ins SET expires_at = refreshed_at + 3600;
CREATE INDEX sign_ins_expires_at ON sign_ins (expires_at);
CREATE INDEX sign_ins_created_at ON sign_ins (created_at);
