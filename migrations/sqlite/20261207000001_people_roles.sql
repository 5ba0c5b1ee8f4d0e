-- The roles a person's newest sign-in carried (the ID token's `roles`, a JSON array): with the
-- scopes they were granted, how the app learns which role grants which scope when config.json
-- does not say (ApplicationConfig.AccessHelp.Roles), and what the access review shows.
ALTER TABLE people ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
