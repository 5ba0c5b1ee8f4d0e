-- What changed, for everything that delivers it (the live board, notifications, and programs
-- reading `GET /api/v1/events`): one row per change to an issue, written in the change's
-- transaction. `seq` is taken from `outbox_counter` under its row lock, held until the change
-- commits, so rows become visible in `seq` order: a reader that has seen `seq` N has seen
-- every row below it that will ever exist.
CREATE TABLE outbox (
    seq        BIGINT PRIMARY KEY,
    issue_id   BIGINT  NOT NULL,
    kind       TEXT    NOT NULL,
    actor_sub  TEXT    NOT NULL,
    actor_name TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    -- JSON: the issue after the change, the fields changed, the comment, who was mentioned.
    data       TEXT    NOT NULL
);
CREATE INDEX outbox_by_issue ON outbox (issue_id, seq);
CREATE INDEX outbox_by_time ON outbox (at);

CREATE TABLE outbox_counter (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last BIGINT  NOT NULL
);
INSERT INTO outbox_counter (id, last) VALUES (1, 0);

-- How far each consumer that must see every change once (notifications) has read.
CREATE TABLE outbox_cursors (
    consumer TEXT    PRIMARY KEY,
    last_seq BIGINT  NOT NULL
);

-- Who watches an issue (true), or has stopped (false) watching one they created or commented on.
CREATE TABLE watchers (
    issue_id BIGINT  NOT NULL,
    sub      TEXT    NOT NULL,
    watching BOOLEAN NOT NULL,
    PRIMARY KEY (issue_id, sub)
);

-- A person's notifications: one per change that concerns them, at most one per change.
CREATE TABLE notifications (
    id         BIGSERIAL PRIMARY KEY,
    sub        TEXT    NOT NULL,
    seq        BIGINT  NOT NULL,
    issue_id   BIGINT  NOT NULL,
    -- assigned, mentioned or watching.
    reason     TEXT    NOT NULL,
    -- The comment it is about (0: the description), for mentions: one per place.
    comment_id BIGINT  NOT NULL,
    actor_name TEXT    NOT NULL,
    summary    TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    read_at    BIGINT,
    UNIQUE (sub, seq)
);
CREATE INDEX notifications_by_person ON notifications (sub, id);
CREATE INDEX notifications_by_issue ON notifications (issue_id);
