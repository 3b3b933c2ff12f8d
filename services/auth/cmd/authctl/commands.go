package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
)

func (a *app) table(header string, rows [][]string) error {
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, header)
	for _, r := range rows {
		fmt.Fprintln(w, strings.Join(r, "\t"))
	}
	return w.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func tsString(t interface{ AsTime() time.Time }, valid bool) string {
	if !valid {
		return "-"
	}
	return t.AsTime().UTC().Format(time.RFC3339)
}

func (a *app) statusCmd() *cobra.Command {
	var connection string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Migration progress per connection",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.call(cmd.Context())
			defer cancel()
			names := []string{connection}
			if connection == "" {
				conns, err := c.ListConnections(ctx, &authv1.ListConnectionsRequest{})
				if err != nil {
					return err
				}
				names = names[:0]
				for _, cn := range conns.GetConnections() {
					names = append(names, cn.GetName())
				}
			}
			var sts []proto.Message
			var rows [][]string
			for _, n := range names {
				resp, err := c.GetMigrationStatus(ctx, &authv1.GetMigrationStatusRequest{Connection: n})
				if err != nil {
					return err
				}
				st := resp.GetStatus()
				sts = append(sts, st)
				total, pct := "-", "-"
				if st.LegacyTotal != nil {
					total = fmt.Sprint(st.GetLegacyTotal())
				}
				if st.PercentMigrated != nil {
					pct = fmt.Sprintf("%.1f%%", st.GetPercentMigrated())
				}
				rows = append(rows, []string{st.GetConnection(), fmt.Sprint(st.GetImportMode()), fmt.Sprint(st.GetLegacyEnabled()),
					fmt.Sprint(st.GetMigratedUsers()), fmt.Sprint(st.GetNativeUsers()), total, pct,
					fmt.Sprint(st.GetLegacyLoginsLastHour()), fmt.Sprint(st.GetLegacyLoginsLastDay()),
					tsString(st.GetLastMigrationAt(), st.GetLastMigrationAt() != nil)})
			}
			if a.output == "json" {
				return a.printJSON(sts)
			}
			return a.table("CONNECTION\tIMPORT\tLEGACY\tMIGRATED\tNATIVE\tLEGACY TOTAL\tMIGRATED %\tLEGACY LOGINS 1H\tLEGACY LOGINS 24H\tLAST MIGRATION", rows)
		},
	}
	cmd.Flags().StringVar(&connection, "connection", "", "only this connection")
	return cmd
}

func (a *app) printUsers(users []*authv1.User, next string) error {
	if a.output == "json" {
		msgs := make([]proto.Message, len(users))
		for i, u := range users {
			msgs[i] = u
		}
		if next == "" {
			return a.printJSON(msgs)
		}
		raw, err := toJSON(msgs)
		if err != nil {
			return err
		}
		return a.printJSON(map[string]any{"users": raw, "next_page_token": next})
	}
	rows := make([][]string, len(users))
	for i, u := range users {
		rows[i] = []string{u.GetUserId(), u.GetConnection(), u.GetEmail(), orDash(u.GetUsername()), orDash(u.GetLegacyId()),
			strings.ToLower(strings.TrimPrefix(u.GetOrigin().String(), "USER_ORIGIN_")), fmt.Sprint(u.GetBlocked()),
			fmt.Sprint(u.GetLoginsCount()), tsString(u.GetLastLoginAt(), u.GetLastLoginAt() != nil)}
	}
	if err := a.table("USER ID\tCONNECTION\tEMAIL\tUSERNAME\tLEGACY ID\tORIGIN\tBLOCKED\tLOGINS\tLAST LOGIN", rows); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(a.stderr, "more users: --page-token %s\n", next)
	}
	return nil
}

func (a *app) usersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "Get, list, delete, block and unblock users"}
	one := func(use, short string, do func(ctx context.Context, c authv1.ManagementServiceClient, id string) (*authv1.User, error)) *cobra.Command {
		return &cobra.Command{
			Use: use + " USER_ID", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := a.client()
				if err != nil {
					return err
				}
				ctx, cancel := a.call(cmd.Context())
				defer cancel()
				u, err := do(ctx, c, args[0])
				if err != nil {
					return err
				}
				if u == nil { // deleted
					if a.output == "json" {
						return a.printJSON(map[string]any{"deleted": args[0]})
					}
					fmt.Fprintf(a.stdout, "deleted %s\n", args[0])
					return nil
				}
				if a.output == "json" {
					return a.printJSON(u)
				}
				return a.printUsers([]*authv1.User{u}, "")
			},
		}
	}
	get := one("get", "Show a user", func(ctx context.Context, c authv1.ManagementServiceClient, id string) (*authv1.User, error) {
		r, err := c.GetUser(ctx, &authv1.GetUserRequest{UserId: id})
		return r.GetUser(), err
	})
	block := one("block", "Stop a user from logging in", func(ctx context.Context, c authv1.ManagementServiceClient, id string) (*authv1.User, error) {
		r, err := c.BlockUser(ctx, &authv1.BlockUserRequest{UserId: id})
		return r.GetUser(), err
	})
	unblock := one("unblock", "Let a blocked user log in again (clears brute-force lockouts)", func(ctx context.Context, c authv1.ManagementServiceClient, id string) (*authv1.User, error) {
		r, err := c.UnblockUser(ctx, &authv1.UnblockUserRequest{UserId: id})
		return r.GetUser(), err
	})
	var allowReimport bool
	del := one("delete", "Delete a user (leaves a tombstone unless --allow-reimport)", func(ctx context.Context, c authv1.ManagementServiceClient, id string) (*authv1.User, error) {
		_, err := c.DeleteUser(ctx, &authv1.DeleteUserRequest{UserId: id, AllowReimport: allowReimport})
		return nil, err
	})
	del.Flags().BoolVar(&allowReimport, "allow-reimport", false, "let the legacy store re-import the user on the next login")

	cmd.AddCommand(get, a.usersListCmd(), del, block, unblock)
	return cmd
}

// usersListCmd is "users list".
func (a *app) usersListCmd() *cobra.Command {
	var q authv1.ListUsersRequest
	var origin string
	list := &cobra.Command{
		Use: "list", Short: "List users, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if origin != "" {
				v, ok := authv1.UserOrigin_value["USER_ORIGIN_"+strings.ToUpper(origin)]
				if !ok {
					return usageError("--origin must be migrated_on_login, migrated_on_reset, imported or signup")
				}
				q.Origin = authv1.UserOrigin(v)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.call(cmd.Context())
			defer cancel()
			r, err := c.ListUsers(ctx, &q)
			if err != nil {
				return err
			}
			return a.printUsers(r.GetUsers(), r.GetNextPageToken())
		},
	}
	list.Flags().StringVar(&q.Connection, "connection", "", "only users of this connection")
	list.Flags().StringVar(&q.EmailPrefix, "email-prefix", "", "only emails starting with this")
	list.Flags().StringVar(&origin, "origin", "", "only this origin: migrated_on_login, migrated_on_reset, imported, signup")
	list.Flags().Int32Var(&q.PageSize, "limit", 50, "users per page (at most 1000)")
	list.Flags().StringVar(&q.PageToken, "page-token", "", "the next page, as printed by the previous one")
	return list
}

func (a *app) resetTicketCmd() *cobra.Command {
	var req authv1.CreatePasswordResetTicketRequest
	var ttl time.Duration
	cmd := &cobra.Command{
		Use: "reset-ticket", Short: "Create a password-reset ticket for a user (migrated or not) to deliver yourself", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if req.Connection == "" || req.Identifier == "" {
				return usageError("--connection and --identifier are required")
			}
			if ttl > 0 {
				req.Ttl = durationpb.New(ttl)
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			ctx, cancel := a.call(cmd.Context())
			defer cancel()
			r, err := c.CreatePasswordResetTicket(ctx, &req)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.printJSON(r)
			}
			return a.table("TICKET\tEXPIRES", [][]string{{r.GetTicket(), tsString(r.GetExpiresAt(), r.GetExpiresAt() != nil)}})
		},
	}
	cmd.Flags().StringVar(&req.Connection, "connection", "", "the user's connection")
	cmd.Flags().StringVar(&req.Identifier, "identifier", "", "the user's email or username")
	cmd.Flags().DurationVar(&ttl, "ttl", 0, "ticket lifetime (default: the service's)")
	return cmd
}

func (a *app) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Access tokens"}
	var jwksURL, issuer, audience string
	verify := &cobra.Command{
		Use:   "verify TOKEN|-",
		Short: "Verify an access token against the service's JWKS (signature, expiry, issuer, audience)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			raw := args[0]
			if raw == "-" {
				b, err := io.ReadAll(io.LimitReader(a.stdin, 64<<10))
				if err != nil {
					return err
				}
				raw = string(b)
			}
			raw = strings.TrimSpace(raw)
			if jwksURL == "" {
				return usageError("--jwks-url is required (e.g. http://127.0.0.1:7401/.well-known/jwks.json)")
			}
			ctx, cancel := a.call(cmd.Context())
			defer cancel()
			claims, err := verifyToken(ctx, raw, jwksURL, issuer, audience)
			if err != nil {
				return err
			}
			if a.output == "json" {
				return a.printJSON(map[string]any{"valid": true, "claims": claims})
			}
			rows := [][]string{}
			for _, k := range []string{"sub", "email", "connection", "iss", "aud", "iat", "exp", "jti"} {
				if v, ok := claims[k]; ok {
					if f, isNum := v.(float64); isNum && (k == "iat" || k == "exp") {
						v = time.Unix(int64(f), 0).UTC().Format(time.RFC3339)
					}
					rows = append(rows, []string{k, fmt.Sprint(v)})
				}
			}
			fmt.Fprintln(a.stdout, "token is valid")
			return a.table("CLAIM\tVALUE", rows)
		},
	}
	verify.Flags().StringVar(&jwksURL, "jwks-url", "", "the service's JWKS [TRICKLE_JWKS_URL]")
	verify.Flags().StringVar(&issuer, "issuer", "", "expected iss (default: not checked)")
	verify.Flags().StringVar(&audience, "audience", "", "expected aud (default: not checked)")
	cmd.AddCommand(verify)
	return cmd
}

// verifyToken checks the signature with the key the JWKS names (kid), and
// exp/nbf/iat with a minute of leeway, plus iss and aud when given.
func verifyToken(ctx context.Context, raw, jwksURL, issuer, audience string) (map[string]any, error) {
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.EdDSA, jose.ES256})
	if err != nil {
		return nil, fmt.Errorf("token does not parse: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, usageError("--jwks-url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS: %s", resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("JWKS does not parse: %w", err)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("token has %d signatures", len(tok.Headers))
	}
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) == 0 {
		return nil, fmt.Errorf("invalid token: no key %q in the JWKS", tok.Headers[0].KeyID)
	}
	var std jwt.Claims
	all := map[string]any{}
	if err := tok.Claims(keys[0].Key, &std, &all); err != nil {
		return nil, fmt.Errorf("invalid token: %w", err)
	}
	exp := jwt.Expected{Issuer: issuer, Time: time.Now()}
	if audience != "" {
		exp.AnyAudience = jwt.Audience{audience}
	}
	if err := std.ValidateWithLeeway(exp, time.Minute); err != nil {
		return nil, fmt.Errorf("invalid token: %w", err)
	}
	return all, nil
}
