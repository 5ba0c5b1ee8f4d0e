-- Each change a webhook is to receive: queued from the outbox once, posted until it is taken
-- (2xx) or a day has passed, in order per issue. `payload` is fixed when queued: every attempt
-- posts the same bytes. `lease_until`: an instance is posting it until then.
CREATE TABLE webhook_deliveries (
    id          BIGSERIAL PRIMARY KEY,
    -- The webhook's URL as config.json names it.
    webhook     TEXT    NOT NULL,
    seq         BIGINT  NOT NULL,
    issue_id    BIGINT  NOT NULL,
    kind        TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    -- pending, delivered or failed.
    state       TEXT    NOT NULL,
    attempts    BIGINT  NOT NULL,
    next_at     BIGINT  NOT NULL,
    lease_until BIGINT,
    last_status BIGINT,
    last_error  TEXT,
    created_at  BIGINT  NOT NULL,
    done_at     BIGINT,
    UNIQUE (webhook, seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_at);
CREATE INDEX webhook_deliveries_in_order ON webhook_deliveries (webhook, issue_id, seq);
