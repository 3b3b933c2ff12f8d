package sqlcore

import (
	"fmt"
	"sort"
	"strings"

	"github.com/trickle-auth/trickle/passwordhash"
)

// preset is a well-known schema's queries and mapping. Queries compare
// identifiers with LOWER() on both sides: correct whatever the column's
// collation (an index on LOWER(col) keeps it fast where the server has
// expression indexes).
type preset struct {
	prefix    string // default table prefix
	idType    string
	queries   func(d Dialect, prefix string) Queries
	columns   map[string]string
	metadata  func(prefix string) []MetadataQuery
	format    string
	formatMap map[string]string
}

// page builds the three queries from a column list, a FROM clause (with
// the table alias), a WHERE for the identifier and the id column.
func page(d Dialect, cols, from, base, match, id string) Queries {
	where := func(cond string) string {
		if base == "" {
			return " WHERE " + cond
		}
		return " WHERE " + base + " AND (" + cond + ")"
	}
	count := "SELECT COUNT(*) " + from
	if base != "" {
		count += " WHERE " + base
	}
	first := from
	if base != "" {
		first += " WHERE " + base
	}
	return Queries{
		User:      "SELECT " + cols + " " + from + where(match),
		Count:     count,
		List:      d.Page(cols, from+where(id+" > :after"), id, ":limit"),
		ListFirst: d.Page(cols, first, id, ":limit"),
	}
}

// ciMatch compares each column with the identifier the way the auth
// service normalizes them (trimmed, case-insensitive), so that a legacy
// " Bob@Example.com " is found by a sign-up check for "bob@example.com".
// LTRIM(RTRIM()) rather than TRIM(): SQL Server before 2017 lacks TRIM.
func ciMatch(cols ...string) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = "LOWER(LTRIM(RTRIM(" + c + "))) = LOWER(:identifier)"
	}
	return strings.Join(parts, " OR ")
}

var presets = map[string]preset{
	// WordPress: wp_users, names and roles in wp_usermeta; phpass $P$ and,
	// since 6.8, $wp$2y$ (detected per hash).
	"wordpress": {
		prefix: "wp_",
		idType: idInt,
		queries: func(d Dialect, p string) Queries {
			return page(d,
				"u.ID AS legacy_id, u.user_email AS email, u.user_login AS username, u.display_name AS name, u.user_url, u.user_pass AS password_hash, u.user_registered AS created_at",
				"FROM "+p+"users u", "", ciMatch("u.user_email", "u.user_login"), "u.ID")
		},
		columns: map[string]string{"user_url": "user_metadata.website"},
		metadata: func(p string) []MetadataQuery {
			return []MetadataQuery{{
				Query: "SELECT meta_key, meta_value FROM " + p + "usermeta WHERE user_id = :legacy_id AND meta_key IN ('first_name', 'last_name', 'nickname', 'description', 'locale', '" + p + "capabilities') ORDER BY umeta_id",
				Keys: map[string]string{
					"first_name": "given_name", "last_name": "family_name", "nickname": "nickname",
					"description": "user_metadata.description", "locale": "user_metadata.locale",
					p + "capabilities": "app_metadata.roles:php-roles",
				},
			}}
		},
	},
	// Django: auth_user, groups in auth_user_groups; inactive users cannot
	// log in (as in Django's ModelBackend).
	"django": {
		idType: idInt,
		queries: func(d Dialect, p string) Queries {
			return page(d,
				"u.id AS legacy_id, u.email, u.username, TRIM(CONCAT(u.first_name, ' ', u.last_name)) AS name, u.first_name AS given_name, u.last_name AS family_name, u.password AS password_hash, u.is_active AS active, u.is_staff, u.is_superuser, u.date_joined AS created_at",
				"FROM "+p+"auth_user u", "", ciMatch("u.email", "u.username"), "u.id")
		},
		columns: map[string]string{"is_staff": "app_metadata.is_staff:bool", "is_superuser": "app_metadata.is_superuser:bool"},
		metadata: func(p string) []MetadataQuery {
			return []MetadataQuery{{
				Query: "SELECT 'groups', g.name FROM " + p + "auth_user_groups ug JOIN " + p + "auth_group g ON g.id = ug.group_id WHERE ug.user_id = :legacy_id ORDER BY g.name",
				Keys:  map[string]string{"groups": "app_metadata.groups:list"},
			}}
		},
	},
	// Laravel: the default users table (email only, bcrypt $2y$).
	"laravel": {
		idType: idInt,
		queries: func(d Dialect, p string) Queries {
			return page(d,
				"u.id AS legacy_id, u.email, u.name, CASE WHEN u.email_verified_at IS NULL THEN 0 ELSE 1 END AS email_verified, u.password AS password_hash, u.created_at",
				"FROM "+p+"users u", "", ciMatch("u.email"), "u.id")
		},
		format: passwordhash.FormatBcrypt,
	},
	// Drupal 7: users (uid 0 is the anonymous user), roles in users_roles;
	// $S$ and U$ hashes; blocked users (status 0) cannot log in.
	"drupal7": {
		idType: idInt,
		queries: func(d Dialect, p string) Queries {
			return page(d,
				"u.uid AS legacy_id, u.mail AS email, u.name AS username, u.pass AS password_hash, u.status AS active, u.timezone, u.language, u.created AS created_at",
				"FROM "+p+"users u", "u.uid > 0", ciMatch("u.mail", "u.name"), "u.uid")
		},
		columns: map[string]string{"timezone": "user_metadata.timezone", "language": "user_metadata.language"},
		metadata: func(p string) []MetadataQuery {
			return []MetadataQuery{{
				Query: "SELECT 'roles', r.name FROM " + p + "users_roles ur JOIN " + p + "role r ON r.rid = ur.rid WHERE ur.uid = :legacy_id ORDER BY r.name",
				Keys:  map[string]string{"roles": "app_metadata.roles:list"},
			}}
		},
	},
	// ASP.NET Membership (SqlMembershipProvider): aspnet_Users +
	// aspnet_Membership, salt beside the hash, PasswordFormat 0 = clear,
	// 1 = hashed (SHA1 by default; set hash.format_map to change it).
	// Encrypted passwords (2) cannot be verified. Unapproved or locked-out
	// users cannot log in.
	"aspnet-membership": {
		idType: idUUID,
		queries: func(d Dialect, p string) Queries {
			return page(d,
				d.Text("u.UserId")+" AS legacy_id, m.Email AS email, u.UserName AS username, m.Password AS password_hash, m.PasswordSalt AS password_salt, m.PasswordFormat AS password_format, CASE WHEN m.IsApproved = 1 AND m.IsLockedOut = 0 THEN 1 ELSE 0 END AS active, m.CreateDate AS created_at",
				"FROM "+p+"aspnet_Users u JOIN "+p+"aspnet_Membership m ON m.UserId = u.UserId", "",
				ciMatch("m.LoweredEmail", "u.LoweredUserName"), "u.UserId")
		},
		metadata: func(p string) []MetadataQuery {
			return []MetadataQuery{{
				Query: "SELECT 'roles', r.RoleName FROM " + p + "aspnet_UsersInRoles ur JOIN " + p + "aspnet_Roles r ON r.RoleId = ur.RoleId WHERE ur.UserId = :legacy_id ORDER BY r.RoleName",
				Keys:  map[string]string{"roles": "app_metadata.roles:list"},
			}}
		},
		formatMap: map[string]string{"0": passwordhash.FormatASPNetMembershipClear, "1": passwordhash.FormatASPNetMembershipSHA1},
	},
	// generic: the documented table for a home-grown schema:
	//   users(id, email, username, name, email_verified, password_hash,
	//         user_metadata JSON, app_metadata JSON)
	// Hash formats are detected per hash.
	"generic": {
		idType: idInt,
		queries: func(d Dialect, p string) Queries {
			return page(d,
				"u.id AS legacy_id, u.email, u.username, u.name, u.email_verified, u.password_hash, u.user_metadata, u.app_metadata",
				"FROM "+p+"users u", "", ciMatch("u.email", "u.username"), "u.id")
		},
	},
}

// PresetNames lists the presets.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// resolve merges the preset with the configuration's overrides.
func (c Config) resolve(d Dialect) (Config, error) {
	out := c
	if c.Preset == "" {
		if out.IDType == "" {
			out.IDType = idInt
		}
		return out, nil
	}
	p, ok := presets[c.Preset]
	if !ok {
		return out, fmt.Errorf("unknown preset %q", c.Preset)
	}
	prefix := p.prefix
	if c.TablePrefix != nil {
		prefix = *c.TablePrefix
	}
	q := p.queries(d, prefix)
	if c.Queries.User != "" {
		q.User = c.Queries.User
	}
	if c.Queries.Count != "" {
		q.Count = c.Queries.Count
	}
	if c.Queries.List != "" { // the preset's first page would not match it
		q.List, q.ListFirst = c.Queries.List, c.Queries.ListFirst
	}
	out.Queries = q
	out.Columns = map[string]string{}
	for k, v := range p.columns {
		out.Columns[k] = v
	}
	for k, v := range c.Columns {
		out.Columns[k] = v
	}
	if c.Metadata == nil && p.metadata != nil { // [] switches them off
		out.Metadata = p.metadata(prefix)
	}
	if out.IDType == "" {
		out.IDType = p.idType
	}
	if out.Hash.Format == "" && out.Hash.FormatMap == nil {
		out.Hash.Format, out.Hash.FormatMap = p.format, p.formatMap
	}
	return out, nil
}

// BuildQueries returns a preset's queries as the dialect will run them
// (placeholders bound), for review and tests.
func BuildQueries(d Dialect, preset string) (Queries, error) {
	rc, err := Config{Preset: preset}.resolve(d)
	if err != nil {
		return Queries{}, err
	}
	var out Queries
	for _, q := range []struct {
		src    string
		dst    *string
		params []string
	}{
		{rc.Queries.User, &out.User, []string{paramIdentifier}},
		{rc.Queries.Count, &out.Count, nil},
		{rc.Queries.List, &out.List, []string{paramAfter, paramLimit}},
		{rc.Queries.ListFirst, &out.ListFirst, []string{paramLimit}},
	} {
		b, err := bind(d, q.src, q.params...)
		if err != nil {
			return Queries{}, err
		}
		*q.dst = b.sql
	}
	return out, nil
}
