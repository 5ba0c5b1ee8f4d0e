-- The browser sessions (tower-sessions records), in the app's own table: `id` is the keyed hash
-- of the session's id (never the cookie's value), `data` the record encoded with MessagePack,
-- `expiry_date` its idle deadline in unix seconds. Sessions were kept before in
-- tower-sessions-sqlx-store's table "tower_sessions"."session"; they are not carried over
-- (everyone signs in once more after the upgrade), and that table is left as it was, not
-- dropped, so going back to the previous release finds its sessions where it left them.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    data BYTEA NOT NULL,
    expiry_date BIGINT NOT NULL
);
CREATE INDEX sessions_expiry_date ON sessions (expiry_date);
