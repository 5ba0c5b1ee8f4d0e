-- A refusal repeated within a minute (the same event, caller and permission or reason) adds to
-- its row's count instead of a row per call: a caller holding a valid token cannot fill the
-- trail. Every other event is one row, once.
ALTER TABLE audit_events ADD COLUMN repeats INTEGER NOT NULL DEFAULT 1;
