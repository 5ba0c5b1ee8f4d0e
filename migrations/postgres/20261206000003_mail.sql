-- E-mail of notifications: where a person is written to (the ID token's `email`), the scopes
-- they were last seen with (whether they may still view what a mail would tell), and how they
-- want to be told: `none`, `immediately` or `daily` (a digest).
ALTER TABLE people ADD COLUMN email TEXT;
ALTER TABLE people ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
ALTER TABLE people ADD COLUMN mail TEXT NOT NULL DEFAULT 'immediately';
ALTER TABLE people ADD COLUMN digest_sent_at BIGINT;

-- A notification's mail: not yet (NULL), `sent`, `skipped` (not wanted, no address, or no
-- longer viewable) or `failed` (not taken within a day). `mail_lease_until`: an instance is
-- sending it until then.
ALTER TABLE notifications ADD COLUMN mail_state TEXT;
ALTER TABLE notifications ADD COLUMN mail_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN mail_next_at BIGINT;
ALTER TABLE notifications ADD COLUMN mail_lease_until BIGINT;
CREATE INDEX notifications_to_mail ON notifications (at) WHERE mail_state IS NULL;
