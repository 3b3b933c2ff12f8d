-- Legacy PostgreSQL demo database: the connector's "generic" preset table
-- with four users whose passwords use legacy formats. Every hash was made by
-- the software that uses the format (see connectors/kit/legacyhash/testdata
-- and connectors/kit/sqlcore/presettest/testdata):
--   ada@example.com       correct horse battery staple  bcrypt ($2y$, PHP password_hash)
--   grace@example.com     password                      phpass ($P$, WordPress 6.1)
--   linus@example.com     pässwörd €                    Django 3.2 pbkdf2_sha256
--   margaret@example.com  my password                   ASP.NET Identity v3
CREATE TABLE users (
  id             BIGINT PRIMARY KEY,
  email          VARCHAR(255) NOT NULL,
  username       VARCHAR(255),
  name           VARCHAR(255),
  email_verified BOOLEAN NOT NULL DEFAULT FALSE,
  password_hash  VARCHAR(255),
  user_metadata  JSONB,
  app_metadata   JSONB
);
-- The connector matches LOWER(email) / LOWER(username).
CREATE UNIQUE INDEX users_email_lower ON users (LOWER(email));
CREATE UNIQUE INDEX users_username_lower ON users (LOWER(username));

INSERT INTO users (id, email, username, name, email_verified, password_hash, user_metadata, app_metadata) VALUES
  (1, 'ada@example.com', 'ada', 'Ada Lovelace', TRUE,
   '$2y$05$.8yI5Y2/lzfA.GUagMhEsev/x7F0hrwIIEVrzvRNBXzJa7dykTLOe',
   '{"theme": "dark", "locale": "en-GB"}', '{"plan": "pro", "roles": ["admin"], "seats": 5}'),
  (2, 'grace@example.com', 'grace', 'Grace Hopper', TRUE,
   '$P$BuFg6jvKsPfsqrzicMnMiExSuO1uUk.',
   '{"website": "https://grace.example.com"}', '{"roles": ["editor"]}'),
  (3, 'linus@example.com', 'linus', 'Linus Pauling', FALSE,
   'pbkdf2_sha256$1000$6aAwGzHFZ5cmkceVY0WudI$wGinNziAhysW+NvSffvX1OSoMMrNzen3EKfhOeRLDPI=',
   NULL, '{"plan": "free"}'),
  (4, 'margaret@example.com', 'margaret', 'Margaret Hamilton', TRUE,
   'AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg+yWU7rLgUwPZb1Itsmra7cbxw2EFpwpVFIEtP+JIuUEw==',
   '{"locale": "en-US"}', '{"roles": ["admin", "billing"]}');

-- The connector only reads.
GRANT SELECT ON users TO trickle_reader;
