package bruteforce

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Attempt is one guarded attempt.
type Attempt struct {
	Action     Action
	Connection string
	// Accounts are the accounts the attempt is about (one or more keys of
	// the same account); none for a reset confirmation.
	Accounts []Account
	IP       string
}

// rule is one budget an attempt takes a unit of.
type rule struct {
	reason string
	window bool     // sliding hourly window; else a failure streak
	keys   []string // streak: [key]; window: [current, previous]
	limit  int
	ms     int64 // streak: its lifetime; window: its length
	refund bool  // a success gives the unit back
}

// Reservation is the units an attempt took; settle it exactly once with
// Succeeded, Failed or Cancel. A nil Reservation (protection off) settles
// as a no-op.
type Reservation struct {
	g       *Guard
	attempt Attempt
	net     string
	rules   []rule
}

// reserveScript checks every budget and, only when all have room, takes one
// unit of each: one atomic step, so concurrent attempts cannot all pass a
// check made before any of them counted.
//
// KEYS: per rule one key (streak) or two (window: current, previous).
// ARGV: the rule count, then per rule: kind ("s"/"w"), limit, ms, and the
// milliseconds elapsed in the current window (windows only).
var reserveScript = redis.NewScript(`
local n = tonumber(ARGV[1])
local k, a = 1, 2
for i = 1, n do
  local kind, limit, ms, elapsed = ARGV[a], tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3])
  a = a + 4
  if kind == 's' then
    local used = tonumber(redis.call('GET', KEYS[k]) or '0')
    if used >= limit then
      return {0, i, redis.call('PTTL', KEYS[k])}
    end
    k = k + 1
  else
    local cur = tonumber(redis.call('GET', KEYS[k]) or '0')
    local prev = tonumber(redis.call('GET', KEYS[k+1]) or '0')
    if cur + prev * (ms - elapsed) / ms >= limit then
      return {0, i, ms - elapsed}
    end
    k = k + 2
  end
end
k, a = 1, 2
for i = 1, n do
  local kind, ms = ARGV[a], tonumber(ARGV[a+2])
  a = a + 4
  redis.call('INCR', KEYS[k])
  if kind == 's' then
    redis.call('PEXPIRE', KEYS[k], ms)
    k = k + 1
  else
    redis.call('PEXPIRE', KEYS[k], 2 * ms)
    k = k + 2
  end
end
return {1}
`)

// refundScript deletes the streak keys (KEYS[1..ARGV[1]]) and gives one
// unit back to each other key without going below zero.
var refundScript = redis.NewScript(`
local dels = tonumber(ARGV[1])
for i = 1, #KEYS do
  if i <= dels then
    redis.call('DEL', KEYS[i])
  elseif tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
    redis.call('DECR', KEYS[i])
  end
end
return 1
`)

// Reserve takes one unit of every budget of the attempt before any
// password, legacy or ticket work. It returns *Denied when a budget is
// spent, ErrUnavailable (fail_closed) or the caller's context error.
func (g *Guard) Reserve(ctx context.Context, a Attempt) (*Reservation, error) {
	if !g.active() {
		return nil, nil
	}
	r := &Reservation{g: g, attempt: a, net: ClientNet(a.IP)}
	if a.Action == Login {
		if err := g.addAliases(ctx, r); err != nil {
			return nil, g.onError(ctx, a.Action, err)
		}
	}
	r.rules = g.rules(r)
	if len(r.rules) == 0 {
		return nil, nil
	}
	keys, args := r.scriptArgs(g.now())
	res, err := reserveScript.Run(ctx, g.rdb, keys, args...).Int64Slice()
	if err != nil {
		if oerr := g.onError(ctx, a.Action, err); oerr != nil {
			return nil, oerr
		}
		return nil, nil // fail_open: let it through, with nothing to settle
	}
	if res[0] == 1 {
		return r, nil
	}
	denied := r.rules[res[1]-1]
	g.denied.WithLabelValues(string(a.Action), denied.reason).Inc()
	return nil, &Denied{Reason: denied.reason, RetryAfter: max(time.Duration(res[2])*time.Millisecond, time.Second)}
}

// addAliases adds the legacy accounts that earlier refusals tied to the
// spellings of the attempt.
func (g *Guard) addAliases(ctx context.Context, r *Reservation) error {
	var keys []string
	for _, acc := range r.attempt.Accounts {
		if len(acc) > 2 && acc[:2] == "c:" {
			keys = append(keys, g.aliasKey(r.attempt.Connection, acc))
		}
	}
	if len(keys) == 0 {
		return nil
	}
	vals, err := g.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return err
	}
	for _, v := range vals {
		if id, ok := v.(string); ok && id != "" {
			r.attempt.Accounts = appendNew(r.attempt.Accounts, LegacyAccount(id))
		}
	}
	return nil
}

func appendNew(accs []Account, a Account) []Account {
	for _, x := range accs {
		if x == a {
			return accs
		}
	}
	return append(accs, a)
}

func (g *Guard) aliasKey(connection string, spelled Account) string {
	return g.prefix + "alias:" + hashed(connection, string(spelled))
}

func (g *Guard) streakKey(connection string, acc Account, net string) string {
	return g.prefix + "fail:" + hashed(connection, string(acc)) + ":" + hashed("", net)
}

// rules lists the budgets of an attempt.
func (g *Guard) rules(r *Reservation) []rule {
	a := r.attempt
	hour := time.Hour.Milliseconds()
	window := func(reason, scope string, limit int, refund bool) rule {
		return rule{reason: reason, window: true, keys: []string{g.prefix + "win:" + string(a.Action) + ":" + scope},
			limit: limit, ms: hour, refund: refund}
	}
	var rules []rule
	switch a.Action {
	case Login:
		for _, acc := range a.Accounts {
			rules = append(rules, rule{reason: "blocked", keys: []string{g.streakKey(a.Connection, acc, r.net)},
				limit: g.cfg.MaxFailures, ms: g.cfg.BlockFor.Milliseconds(), refund: true})
		}
		if g.cfg.IPFailuresPerHour > 0 {
			rules = append(rules, window("rate_limited", "ip:"+hashed("", r.net), g.cfg.IPFailuresPerHour, true))
		}
	default:
		q, refund := g.quota(a.Action)
		if q.PerIdentifierPerHour > 0 {
			for _, acc := range a.Accounts {
				rules = append(rules, window("rate_limited", "id:"+hashed(a.Connection, string(acc)), q.PerIdentifierPerHour, refund))
			}
		}
		if q.PerIPPerHour > 0 {
			rules = append(rules, window("rate_limited", "ip:"+hashed("", r.net), q.PerIPPerHour, refund))
		}
	}
	return rules
}

// quota returns the budgets of a non-login action and whether a success
// gives its unit back (a reset request always counts: its answer is the
// same whatever happened).
func (g *Guard) quota(a Action) (Quota, bool) {
	switch a {
	case SignUp:
		return g.cfg.SignUp, true
	case ResetRequest:
		return g.cfg.ResetRequest, false
	default:
		return g.cfg.ResetConfirm, true
	}
}

// scriptArgs lays the rules out for reserveScript, with the window keys of
// the current and previous hour.
func (r *Reservation) scriptArgs(now time.Time) ([]string, []any) {
	var keys []string
	args := []any{len(r.rules)}
	ms := now.UnixMilli()
	for i := range r.rules {
		ru := &r.rules[i]
		if !ru.window {
			keys = append(keys, ru.keys[0])
			args = append(args, "s", ru.limit, ru.ms, 0)
			continue
		}
		idx := ms / ru.ms
		base := ru.keys[0]
		ru.keys = []string{base + ":" + strconv.FormatInt(idx, 10), base + ":" + strconv.FormatInt(idx-1, 10)}
		keys = append(keys, ru.keys...)
		args = append(args, "w", ru.limit, ru.ms, ms-idx*ru.ms)
	}
	return keys, args
}

// Succeeded gives back the units a success does not spend and ends the
// account's failure streak.
func (r *Reservation) Succeeded(ctx context.Context) { r.refund(ctx, true) }

// Cancel gives every unit back: the attempt checked nothing (the legacy
// store or the user store was unavailable).
func (r *Reservation) Cancel(ctx context.Context) { r.refund(ctx, false) }

func (r *Reservation) refund(ctx context.Context, success bool) {
	if r == nil {
		return
	}
	var dels, decrs []string
	for _, ru := range r.rules {
		switch {
		case success && !ru.refund: // a success spends this unit too
		case success && !ru.window: // a success ends the failure streak
			dels = append(dels, ru.keys[0])
		default:
			decrs = append(decrs, ru.keys[0])
		}
	}
	if len(dels)+len(decrs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := refundScript.Run(ctx, r.g.rdb, append(dels, decrs...), len(dels)).Err(); err != nil {
		r.g.warn("brute-force protection: could not settle an attempt", err)
	}
}

// Failed keeps the units: the attempt was a failure. legacyID, when the
// legacy store named the account a wrong password matched, charges that
// account too and ties the attempt's spellings to it, so later attempts
// in any of them share its budget.
func (r *Reservation) Failed(ctx context.Context, legacyID string) {
	if r == nil || legacyID == "" || r.attempt.Action != Login {
		return
	}
	acc := LegacyAccount(legacyID)
	for _, a := range r.attempt.Accounts {
		if a == acc {
			return // already charged by the reservation
		}
	}
	g, a := r.g, r.attempt
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	pipe := g.rdb.TxPipeline()
	key := g.streakKey(a.Connection, acc, r.net)
	pipe.Incr(ctx, key)
	pipe.PExpire(ctx, key, g.cfg.BlockFor)
	for _, spelled := range a.Accounts {
		if len(spelled) > 2 && spelled[:2] == "c:" {
			pipe.Set(ctx, g.aliasKey(a.Connection, spelled), legacyID, g.cfg.BlockFor)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		g.warn("brute-force protection: could not record a failure", err)
	}
}

// Unblock clears the login failure streaks of the accounts from every
// client network (an admin action). It returns how many it cleared.
func (g *Guard) Unblock(ctx context.Context, connection string, accounts ...Account) (int, error) {
	if g == nil || g.rdb == nil {
		return 0, nil
	}
	var cleared int
	for _, acc := range accounts {
		iter := g.rdb.Scan(ctx, 0, g.prefix+"fail:"+hashed(connection, string(acc))+":*", 200).Iterator()
		for iter.Next(ctx) {
			if err := g.rdb.Del(ctx, iter.Val()).Err(); err != nil {
				return cleared, err
			}
			cleared++
		}
		if err := iter.Err(); err != nil {
			return cleared, err
		}
	}
	return cleared, nil
}

// IsDenied reports whether err is a refusal by the guard, and returns it.
func IsDenied(err error) (*Denied, bool) {
	var d *Denied
	ok := errors.As(err, &d)
	return d, ok
}
