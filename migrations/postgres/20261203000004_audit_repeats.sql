-- A refusal repeated within a minute adds to its row's count instead of a row per call: a caller
-- holding a valid token cannot fill the trail. The database merges them (an upsert on the unique
-- index below), so requests racing at the start of a minute, or on several instances, share one
-- row. The same refusal: the same event, caller (sub), application (client_id), door (via),
-- permission, missing scopes and reason (detail), in the same minute; COALESCE(…, '') because
-- NULLs are never equal in a unique index. `minute` (Unix seconds / 60 of `at`) is set only on
-- refusals recorded from now on: every other event, the refusals recorded before this (a row per
-- call) and imported rows keep NULL, outside the index, rows of their own. The audit trail's
-- INSERT names these expressions and this predicate as its conflict target: change both together.
ALTER TABLE audit_events ADD COLUMN repeats BIGINT NOT NULL DEFAULT 1;
ALTER TABLE audit_events ADD COLUMN minute BIGINT;
CREATE UNIQUE INDEX audit_events_repeated ON audit_events (
    event, COALESCE(actor_sub, ''), COALESCE(client_id, ''), COALESCE(via, ''),
    COALESCE(permission, ''), COALESCE(missing_scopes, ''), COALESCE(detail, ''), minute
) WHERE minute IS NOT NULL;
