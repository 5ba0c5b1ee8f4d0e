-- What people write: a comment can be edited by its author (each earlier body kept, with who
-- replaced it and when), deleted by its author (its text erased, its place in the thread kept)
-- or hidden by an editor; people mentioned in descriptions and comments.
ALTER TABLE comments
    ADD COLUMN edited_at      BIGINT,
    ADD COLUMN deleted_at     BIGINT,
    ADD COLUMN hidden_by_name TEXT,
    ADD COLUMN hidden_by_sub  TEXT;

CREATE TABLE comment_revisions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    comment_id  BIGINT NOT NULL REFERENCES comments (id),
    -- The body as it was until `replaced_at`, when `editor_name` replaced it.
    body        TEXT   NOT NULL,
    replaced_at BIGINT NOT NULL,
    editor_name TEXT   NOT NULL
);
CREATE INDEX comment_revisions_by_comment ON comment_revisions (comment_id, id);

-- Who is mentioned where: `comment_id` 0 is the issue's description.
CREATE TABLE mentions (
    issue_id   BIGINT NOT NULL REFERENCES issues (id),
    comment_id BIGINT NOT NULL,
    sub        TEXT   NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (issue_id, comment_id, sub)
);
CREATE INDEX mentions_by_person ON mentions (sub, issue_id);
