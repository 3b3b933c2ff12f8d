-- Legacy MySQL demo database (runs once, as root, in the `legacy` database
-- the image creates): the connector's "generic" preset table with four
-- users whose passwords use legacy formats. Every hash was made by the
-- software that uses the format (see connectors/kit/legacyhash/testdata and
-- connectors/kit/sqlcore/presettest/testdata):
--   ada@example.com       correct horse battery staple  bcrypt ($2y$, PHP password_hash)
--   grace@example.com     password                      phpass ($P$, WordPress 6.1)
--   linus@example.com     pässwörd €                    Django 3.2 pbkdf2_sha256
--   margaret@example.com  my password                   ASP.NET Identity v3
CREATE TABLE users (
  id             BIGINT UNSIGNED PRIMARY KEY,
  email          VARCHAR(255) NOT NULL,
  username       VARCHAR(255),
  name           VARCHAR(255),
  email_verified TINYINT(1) NOT NULL DEFAULT 0,
  password_hash  VARCHAR(255),
  user_metadata  JSON,
  app_metadata   JSON,
  -- The default collation compares case-insensitively.
  UNIQUE KEY users_email (email),
  UNIQUE KEY users_username (username)
) DEFAULT CHARSET = utf8mb4;

INSERT INTO users (id, email, username, name, email_verified, password_hash, user_metadata, app_metadata) VALUES
  (1, 'ada@example.com', 'ada', 'Ada Lovelace', 1,
   '$2y$05$.8yI5Y2/lzfA.GUagMhEsev/x7F0hrwIIEVrzvRNBXzJa7dykTLOe',
   '{"theme": "dark", "locale": "en-GB"}', '{"plan": "pro", "roles": ["admin"], "seats": 5}'),
  (2, 'grace@example.com', 'grace', 'Grace Hopper', 1,
   '$P$BuFg6jvKsPfsqrzicMnMiExSuO1uUk.',
   '{"website": "https://grace.example.com"}', '{"roles": ["editor"]}'),
  (3, 'linus@example.com', 'linus', 'Linus Pauling', 0,
   'pbkdf2_sha256$1000$6aAwGzHFZ5cmkceVY0WudI$wGinNziAhysW+NvSffvX1OSoMMrNzen3EKfhOeRLDPI=',
   NULL, '{"plan": "free"}'),
  (4, 'margaret@example.com', 'margaret', 'Margaret Hamilton', 1,
   'AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg+yWU7rLgUwPZb1Itsmra7cbxw2EFpwpVFIEtP+JIuUEw==',
   '{"locale": "en-US"}', '{"roles": ["admin", "billing"]}');

-- The image gave MYSQL_USER (trickle_reader) every right on `legacy`; the
-- connector only reads the users table.
REVOKE ALL PRIVILEGES ON legacy.* FROM 'trickle_reader'@'%';
GRANT SELECT ON legacy.users TO 'trickle_reader'@'%';
