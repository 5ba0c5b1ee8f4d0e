CREATE TABLE issues (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL,
    author_sub  TEXT    NOT NULL,
    author_name TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

-- One row per signed-in browser session: who, what was granted, and the IdP's tokens sealed
-- with AES-256-GCM. The tower-sessions record only points here.
CREATE TABLE sign_ins (
    id                TEXT    PRIMARY KEY,
    sub               TEXT    NOT NULL,
    sid               TEXT,
    name              TEXT    NOT NULL,
    scopes            TEXT    NOT NULL,
    sealed_tokens     TEXT    NOT NULL,
    access_expires_at INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    refreshed_at      INTEGER NOT NULL
);
CREATE INDEX sign_ins_sid ON sign_ins (sid);
CREATE INDEX sign_ins_sub ON sign_ins (sub);
