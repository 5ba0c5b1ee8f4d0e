-- The browser sessions (tower-sessions records), in the app's own table: `id` is the keyed hash
-- of the session's id (never the cookie's value), `data` the record encoded with MessagePack,
-- `expiry_date` its idle deadline in unix seconds (rounded up).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    data BYTEA NOT NULL,
    expiry_date BIGINT NOT NULL
);
CREATE INDEX sessions_expiry_date ON sessions (expiry_date);

-- Sessions were kept before in tower-sessions-sqlx-store's table "tower_sessions"."session",
-- under the same ids and in the same encoding: the live ones move over once, here, so nobody is
-- signed out by the upgrade. The old table is left as it was.
DO $$
BEGIN
    IF to_regclass('tower_sessions.session') IS NOT NULL THEN
        INSERT INTO sessions (id, data, expiry_date)
        SELECT id, data, CEIL(EXTRACT(EPOCH FROM expiry_date))::BIGINT
        FROM tower_sessions.session
        WHERE expiry_date > now();
    END IF;
END
$$;
