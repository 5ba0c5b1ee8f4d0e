-- The browser sessions (tower-sessions records), in the app's own table: `id` is the keyed hash
-- of the session's id (never the cookie's value), `data` the record encoded with MessagePack,
-- `expiry_date` its idle deadline in unix seconds (rounded up).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data BLOB NOT NULL,
    expiry_date INTEGER NOT NULL
);
CREATE INDEX sessions_expiry_date ON sessions (expiry_date);

-- Sessions were kept before in tower-sessions-sqlx-store's table `tower_sessions`, under the
-- same ids and in the same encoding: the live ones move over once, here, so nobody is signed
-- out by the upgrade. The old table is left as it was (created empty, exactly as that crate
-- creates it, where it never existed), so the previous release still starts on this file.
-- Its expiry is text as sqlx writes a timestamp; SQLite's date functions read it.
CREATE TABLE IF NOT EXISTS tower_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    data BLOB NOT NULL,
    expiry_date INTEGER NOT NULL
);
INSERT INTO sessions (id, data, expiry_date)
SELECT id, data, CAST(strftime('%s', expiry_date) AS INTEGER) + 1
FROM tower_sessions
WHERE datetime(expiry_date) > datetime('now');
