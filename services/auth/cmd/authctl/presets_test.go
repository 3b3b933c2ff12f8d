package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	kitconfig "github.com/trickle-auth/trickle/connectors/kit/config"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore"
	"github.com/trickle-auth/trickle/connectors/kit/sqlcore/presettest"
	"github.com/trickle-auth/trickle/deploy/testenv/sqltest"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	"github.com/trickle-auth/trickle/services/auth/internal/connectortest"
)

// TestAuthctlOnEveryPresetsRealSchema: export-unmigrated and import
// --from-connector through authctl, for every preset on its application's
// real DDL (Django's INTEGER ids, WordPress's bigint unsigned...) on
// PostgreSQL and MariaDB, then a login of an imported user.
func TestAuthctlOnEveryPresetsRealSchema(t *testing.T) {
	dialects := []struct {
		name, driver string
		d            sqlcore.Dialect
		open         func(testing.TB) (string, *sql.DB)
	}{
		{"postgres", "pgx", sqlcore.Postgres{}, sqltest.Postgres},
		{"mariadb", "mysql", sqlcore.MySQL{}, sqltest.MySQL},
	}
	for _, dl := range dialects {
		for _, preset := range presettest.Presets() {
			t.Run(dl.name+"/"+preset, func(t *testing.T) {
				dsn, db := dl.open(t)
				presettest.Seed(t, db, dl.d, preset)
				var lc sqlcore.Config
				lc.SetDefaults()
				lc.DSN, lc.Preset, lc.SharePasswordHash = kitconfig.SecretLiteral(dsn), preset, true
				e := start(t, connectortest.ServeSQL(t, lc, dl.driver, dl.d, ""))
				users := presettest.Users(t, preset)

				code, out, errs := e.authctl("export-unmigrated", "--connection", "pg")
				if code != 0 || strings.Count(out, "\n") != len(users) || strings.Contains(out, "password_hash") {
					t.Fatalf("export before import: exit %d\n%s%s", code, out, errs)
				}
				for _, u := range users {
					if !strings.Contains(out, `"`+u.Profile.GetLegacyId()+`"`) {
						t.Errorf("export lacks legacy id %s", u.Profile.GetLegacyId())
					}
				}
				code, out, errs = e.authctl("import", "--connection", "pg", "--from-connector", "--output", "json")
				var rep report
				if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || rep.Imported != int64(len(users)) || rep.Failed != 0 {
					t.Fatalf("import: exit %d %v %+v\n%s", code, err, rep, errs)
				}
				e.assertUnique("pg", len(users))
				if code, out, errs := e.authctl("export-unmigrated", "--connection", "pg"); code != 0 || out != "" {
					t.Fatalf("export after import: exit %d %q %s", code, out, errs)
				}
				u := users[0]
				if _, err := e.loginAs("pg", strings.ToUpper(u.Profile.GetEmail()), u.Password); err != nil {
					t.Errorf("login of imported %s: %v", u.Profile.GetEmail(), err)
				}
			})
		}
	}
}

// loginAs logs in with password (env.login uses the JSONL users' one).
func (e *env) loginAs(connection, identifier, password string) (*authv1.LoginResponse, error) {
	conn, err := grpc.NewClient(e.srv.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	return authv1.NewAuthServiceClient(conn).Login(context.Background(), &authv1.LoginRequest{Connection: connection, Identifier: identifier, Password: password})
}
