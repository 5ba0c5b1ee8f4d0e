-- Each change a webhook is to receive: queued from the outbox once, posted until it is taken
-- (2xx) or a day has passed, in order per issue. `payload` is fixed when queued: every attempt
-- posts the same bytes. `lease_until`: an instance is posting it until then.
CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- The webhook's URL as config.json names it.
    webhook     TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    issue_id    INTEGER NOT NULL,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    -- pending, delivered or failed.
    state       TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    next_at     INTEGER NOT NULL,
    lease_until INTEGER,
    last_status INTEGER,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    done_at     INTEGER,
    UNIQUE (webhook, seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_at);
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (webhook, issue_id, seq);
