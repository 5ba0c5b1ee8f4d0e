-- The browser a sign-in was made from (its User-Agent, cut to 256 characters), so people can
-- tell their sessions apart on the profile page. Sign-ins made before have none.
ALTER TABLE sign_ins ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
