-- Legacy SQL Server demo database, run by the mssql-seed job with sqlcmd on
-- every `up` (idempotent). $(READER_PASSWORD) comes from the job's
-- environment (deploy/.env). The connector's "generic" preset table with
-- four users whose passwords use legacy formats; every hash was made by the
-- software that uses the format (see connectors/kit/legacyhash/testdata and
-- connectors/kit/sqlcore/presettest/testdata):
--   ada@example.com       correct horse battery staple  bcrypt ($2y$, PHP password_hash)
--   grace@example.com     password                      phpass ($P$, WordPress 6.1)
--   linus@example.com     pässwörd €                    Django 3.2 pbkdf2_sha256
--   margaret@example.com  my password                   ASP.NET Identity v3
IF DB_ID(N'legacy') IS NULL CREATE DATABASE legacy;
GO
USE legacy;
GO
IF OBJECT_ID(N'dbo.users', N'U') IS NULL
BEGIN
  CREATE TABLE dbo.users (
    id             BIGINT PRIMARY KEY,
    email          NVARCHAR(255) NOT NULL,
    username       NVARCHAR(255),
    name           NVARCHAR(255),
    email_verified BIT NOT NULL DEFAULT 0,
    password_hash  NVARCHAR(255),
    user_metadata  NVARCHAR(MAX),
    app_metadata   NVARCHAR(MAX)
  );
  -- The default collation compares case-insensitively.
  CREATE UNIQUE INDEX users_email ON dbo.users (email);

  INSERT INTO dbo.users (id, email, username, name, email_verified, password_hash, user_metadata, app_metadata) VALUES
    (1, N'ada@example.com', N'ada', N'Ada Lovelace', 1,
     N'$2y$05$.8yI5Y2/lzfA.GUagMhEsev/x7F0hrwIIEVrzvRNBXzJa7dykTLOe',
     N'{"theme": "dark", "locale": "en-GB"}', N'{"plan": "pro", "roles": ["admin"], "seats": 5}'),
    (2, N'grace@example.com', N'grace', N'Grace Hopper', 1,
     N'$P$BuFg6jvKsPfsqrzicMnMiExSuO1uUk.',
     N'{"website": "https://grace.example.com"}', N'{"roles": ["editor"]}'),
    (3, N'linus@example.com', N'linus', N'Linus Pauling', 0,
     N'pbkdf2_sha256$1000$6aAwGzHFZ5cmkceVY0WudI$wGinNziAhysW+NvSffvX1OSoMMrNzen3EKfhOeRLDPI=',
     NULL, N'{"plan": "free"}'),
    (4, N'margaret@example.com', N'margaret', N'Margaret Hamilton', 1,
     N'AQAAAAEAACcQAAAAEAABAgMEBQYHCAkKCwwNDg+yWU7rLgUwPZb1Itsmra7cbxw2EFpwpVFIEtP+JIuUEw==',
     N'{"locale": "en-US"}', N'{"roles": ["admin", "billing"]}');
END
GO
-- The read-only login the connector uses.
IF SUSER_ID(N'trickle_reader') IS NULL
  CREATE LOGIN trickle_reader WITH PASSWORD = N'$(READER_PASSWORD)', CHECK_POLICY = ON;
ELSE
  ALTER LOGIN trickle_reader WITH PASSWORD = N'$(READER_PASSWORD)';
GO
IF USER_ID(N'trickle_reader') IS NULL CREATE USER trickle_reader FOR LOGIN trickle_reader;
GO
GRANT SELECT ON dbo.users TO trickle_reader;
GO
