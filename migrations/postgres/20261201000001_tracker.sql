-- The tracker. Issues gain a status (with who closed them and when), an assignee, a version
-- for optimistic concurrency (every change bumps it), a comment count and soft deletion.
ALTER TABLE issues
    ADD COLUMN status         TEXT   NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    ADD COLUMN updated_at     BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN closed_at      BIGINT,
    ADD COLUMN closed_by_sub  TEXT,
    ADD COLUMN closed_by_name TEXT,
    ADD COLUMN assignee_sub   TEXT,
    ADD COLUMN assignee_name  TEXT,
    ADD COLUMN version        BIGINT NOT NULL DEFAULT 1,
    ADD COLUMN comment_count  BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN deleted_at     BIGINT,
    -- Full-text search over the title and description ('simple': no language's stemming, as
    -- with SQLite's unicode61).
    ADD COLUMN search tsvector GENERATED ALWAYS AS (to_tsvector('simple', title || ' ' || description)) STORED;
UPDATE issues SET updated_at = created_at;

-- The board's filters, newest first, over issues not deleted.
CREATE INDEX issues_live ON issues (id) WHERE deleted_at IS NULL;
CREATE INDEX issues_by_status ON issues (status, id) WHERE deleted_at IS NULL;
CREATE INDEX issues_by_assignee ON issues (assignee_sub, status, id) WHERE deleted_at IS NULL;
CREATE INDEX issues_by_author ON issues (author_sub, status, id) WHERE deleted_at IS NULL;
CREATE INDEX issues_search ON issues USING GIN (search);

CREATE TABLE comments (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    issue_id    BIGINT NOT NULL REFERENCES issues (id),
    body        TEXT   NOT NULL,
    author_sub  TEXT   NOT NULL,
    author_name TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    search tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED
);
CREATE INDEX comments_by_issue ON comments (issue_id, id);
CREATE INDEX comments_search ON comments USING GIN (search);

-- People who have signed in: whom an issue can be assigned to.
CREATE TABLE people (
    sub          TEXT   PRIMARY KEY,
    name         TEXT   NOT NULL,
    last_seen_at BIGINT NOT NULL
);

-- Issues per status (not deleted), kept by a trigger: the board's counts without a scan.
CREATE TABLE issue_counts (
    status TEXT   PRIMARY KEY,
    n      BIGINT NOT NULL
);
INSERT INTO issue_counts (status, n)
    SELECT 'open', COUNT(*) FROM issues WHERE status = 'open' AND deleted_at IS NULL;
INSERT INTO issue_counts (status, n)
    SELECT 'closed', COUNT(*) FROM issues WHERE status = 'closed' AND deleted_at IS NULL;

-- Rows are changed in one order ('closed' before 'open') so concurrent changes cannot deadlock.
CREATE FUNCTION issue_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s TEXT;
    delta BIGINT;
BEGIN
    FOREACH s IN ARRAY ARRAY['closed', 'open'] LOOP
        delta := (CASE WHEN NEW.deleted_at IS NULL AND NEW.status = s THEN 1 ELSE 0 END)
               - (CASE WHEN TG_OP = 'UPDATE' AND OLD.deleted_at IS NULL AND OLD.status = s THEN 1 ELSE 0 END);
        IF delta <> 0 THEN
            UPDATE issue_counts SET n = n + delta WHERE status = s;
        END IF;
    END LOOP;
    RETURN NULL;
END;
$$;
CREATE TRIGGER issue_counts_insert AFTER INSERT ON issues
    FOR EACH ROW EXECUTE FUNCTION issue_counts_keep();
CREATE TRIGGER issue_counts_update AFTER UPDATE OF status, deleted_at ON issues
    FOR EACH ROW EXECUTE FUNCTION issue_counts_keep();
