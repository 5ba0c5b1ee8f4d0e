-- When the person last authenticated at the identity provider (the ID token's auth_time), for
-- actions config.json wants a recent authentication for (Features.Issues.StepUp). NULL: the
-- provider did not say, or a sign-in from before this column; such an action asks again.
ALTER TABLE sign_ins ADD COLUMN auth_time BIGINT;
