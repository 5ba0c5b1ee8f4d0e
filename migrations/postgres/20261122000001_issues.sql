CREATE TABLE issues (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title       TEXT    NOT NULL,
    description TEXT    NOT NULL,
    author_sub  TEXT    NOT NULL,
    author_name TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
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
    access_expires_at BIGINT  NOT NULL,
    created_at        BIGINT  NOT NULL,
    refreshed_at      BIGINT  NOT NULL
);
CREATE INDEX sign_ins_sid ON sign_ins (sid);
CREATE INDEX sign_ins_sub ON sign_ins (sub);
