package bruteforce

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
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

// rule is one budget of an attempt: settled failures (a streak, or a
// sliding hourly window) plus the attempts in flight.
type rule struct {
	reason string
	window bool     // sliding hourly window; else a failure streak
	keys   []string // streak: [count]; window: [current, previous]
	pend   string   // sorted set of the attempts in flight
	limit  int
	ms     int64 // streak: its lifetime; window: its length
	refund bool  // a success does not count (it ends a streak)
}

// Reservation is an attempt's place in every budget; settle it exactly
// once with Succeeded, Failed or Cancel. A nil Reservation (protection off)
// settles as a no-op.
type Reservation struct {
	g       *Guard
	attempt Attempt
	net     string
	id      string // the attempt's member in the in-flight sets
	rules   []rule
}

// pendingTTL bounds how long an attempt counts as in flight if its replica
// dies before settling it.
const pendingTTL = 2 * time.Minute

// reserveScript admits an attempt only while, for every budget, settled
// failures plus attempts in flight stay below the limit, and then records
// it as in flight: one atomic step, so concurrent attempts cannot all pass
// a check made before any of them counted. It answers {1} admitted,
// {0, rule, retry ms} refused (failures alone reach the limit), or
// {2, rule} wait (attempts in flight may still succeed and free room).
//
// KEYS per rule: streak [count, pending]; window [current, previous,
// pending]. ARGV: rule count, now (ms), member, then per rule: kind
// ("s"/"w"), limit, ms, elapsed ms in the current window.
var reserveScript = redis.NewScript(`
local n, now, member = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local pends = {}
local k, a = 1, 4
for i = 1, n do
  local kind, limit, ms, elapsed = ARGV[a], tonumber(ARGV[a+1]), tonumber(ARGV[a+2]), tonumber(ARGV[a+3])
  a = a + 4
  local used, pend
  if kind == 's' then
    used = tonumber(redis.call('GET', KEYS[k]) or '0')
    if used >= limit then
      return {0, i, redis.call('PTTL', KEYS[k])}
    end
    pend = KEYS[k+1]
    k = k + 2
  else
    local cur = tonumber(redis.call('GET', KEYS[k]) or '0')
    local prev = tonumber(redis.call('GET', KEYS[k+1]) or '0')
    used = cur + prev * (ms - elapsed) / ms
    if used >= limit then
      return {0, i, ms - elapsed}
    end
    pend = KEYS[k+2]
    k = k + 3
  end
  redis.call('ZREMRANGEBYSCORE', pend, '-inf', now)
  if used + redis.call('ZCARD', pend) >= limit then
    return {2, i}
  end
  pends[#pends + 1] = pend
end
for _, pend in ipairs(pends) do
  redis.call('ZADD', pend, now + ` + strconv.FormatInt(pendingTTL.Milliseconds(), 10) + `, member)
  redis.call('PEXPIRE', pend, ` + strconv.FormatInt(pendingTTL.Milliseconds(), 10) + `)
end
return {1}
`)

// settleScript takes the attempt out of every in-flight set and applies
// one operation per budget: "f" counts a failure (INCR, then PEXPIRE to
// the given ms), "d" ends a streak (DEL), "-" nothing.
//
// KEYS per rule: [pending, count]. ARGV: member, then per rule: op, ms.
var settleScript = redis.NewScript(`
local a = 2
for i = 1, #KEYS, 2 do
  redis.call('ZREM', KEYS[i], ARGV[1])
  local op, ms = ARGV[a], tonumber(ARGV[a+1])
  a = a + 2
  if op == 'f' then
    redis.call('INCR', KEYS[i+1])
    redis.call('PEXPIRE', KEYS[i+1], ms)
  elseif op == 'd' then
    redis.call('DEL', KEYS[i+1])
  end
end
return 1
`)

// Reserve admits an attempt into every budget before any password, legacy
// or ticket work. When attempts in flight fill a budget it waits (up to
// MaxWait) for them to settle: concurrent logins of one honest user are
// queued, not refused. It returns *Denied when a budget is spent,
// ErrUnavailable (fail_closed) or the caller's context error.
func (g *Guard) Reserve(ctx context.Context, a Attempt) (*Reservation, error) {
	if !g.active() {
		return nil, nil
	}
	r := &Reservation{g: g, attempt: a, net: ClientNet(a.IP), id: newID()}
	if a.Action == Login {
		if err := g.addAliases(ctx, r); err != nil {
			return nil, g.onError(ctx, a.Action, err)
		}
	}
	r.rules = g.rules(r)
	if len(r.rules) == 0 {
		return nil, nil
	}
	deadline := g.now().Add(g.cfg.MaxWait)
	for pause := 10 * time.Millisecond; ; pause = min(2*pause, 200*time.Millisecond) {
		keys, args := r.scriptArgs(g.now())
		res, err := reserveScript.Run(ctx, g.rdb, keys, args...).Int64Slice()
		switch {
		case err != nil:
			if oerr := g.onError(ctx, a.Action, err); oerr != nil {
				return nil, oerr
			}
			return nil, nil // fail_open: let it through, with nothing to settle
		case res[0] == 1:
			return r, nil
		case res[0] == 0:
			return nil, g.deny(a.Action, r.rules[res[1]-1].reason, time.Duration(res[2])*time.Millisecond)
		case g.now().After(deadline):
			return nil, g.deny(a.Action, "busy", time.Second)
		}
		t := time.NewTimer(pause/2 + time.Duration(mrand.Int64N(int64(pause))))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (g *Guard) deny(action Action, reason string, retry time.Duration) error {
	g.denied.WithLabelValues(string(action), reason).Inc()
	return &Denied{Reason: reason, RetryAfter: max(retry, time.Second)}
}

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
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
		base := g.prefix + "win:" + string(a.Action) + ":" + scope
		return rule{reason: reason, window: true, keys: []string{base}, pend: base + ":pending", limit: limit, ms: hour, refund: refund}
	}
	var rules []rule
	switch a.Action {
	case Login:
		for _, acc := range a.Accounts {
			key := g.streakKey(a.Connection, acc, r.net)
			rules = append(rules, rule{reason: "blocked", keys: []string{key}, pend: key + ":pending",
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

// scriptArgs lays the rules out for reserveScript, with the window keys
// of the current and previous hour.
func (r *Reservation) scriptArgs(now time.Time) ([]string, []any) {
	var keys []string
	ms := now.UnixMilli()
	args := []any{len(r.rules), ms, r.id}
	for _, ru := range r.rules {
		if !ru.window {
			keys = append(keys, ru.keys[0], ru.pend)
			args = append(args, "s", ru.limit, ru.ms, 0)
			continue
		}
		idx := ms / ru.ms
		keys = append(keys, windowKey(ru, idx), windowKey(ru, idx-1), ru.pend)
		args = append(args, "w", ru.limit, ru.ms, ms-idx*ru.ms)
	}
	return keys, args
}

// countTTL is how long a failure count lives: a streak its block time, a
// window two window lengths (it is read as the previous one too).
func (ru rule) countTTL() int64 {
	if ru.window {
		return 2 * ru.ms
	}
	return ru.ms
}

func windowKey(ru rule, idx int64) string { return ru.keys[0] + ":" + strconv.FormatInt(idx, 10) }

// Succeeded settles a success: it ends the account's failure streak and
// counts only in budgets where every attempt counts (reset requests).
func (r *Reservation) Succeeded(ctx context.Context) { r.settle(ctx, outcomeSuccess) }

// Cancel settles an attempt that decided nothing (the legacy store or the
// user store was unavailable): it counts nowhere.
func (r *Reservation) Cancel(ctx context.Context) { r.settle(ctx, outcomeNone) }

type outcome int

const (
	outcomeNone outcome = iota
	outcomeSuccess
	outcomeFailure
)

func (r *Reservation) settle(ctx context.Context, o outcome) {
	if r == nil {
		return
	}
	now := r.g.now().UnixMilli()
	var keys []string
	args := []any{r.id}
	for _, ru := range r.rules {
		count, op := ru.keys[0], "-"
		if ru.window {
			count = windowKey(ru, now/ru.ms)
		}
		switch {
		case o == outcomeFailure, o == outcomeSuccess && !ru.refund:
			op = "f"
		case o == outcomeSuccess && !ru.window:
			op = "d"
		}
		keys = append(keys, ru.pend, count)
		args = append(args, op, ru.countTTL())
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := settleScript.Run(ctx, r.g.rdb, keys, args...).Err(); err != nil {
		r.g.warn("brute-force protection: could not settle an attempt", err)
	}
}

// Failed settles a failure: it counts in every budget. legacyID, when the
// legacy store named the account a wrong password matched, charges that
// account too and ties the attempt's spellings to it, so later attempts
// in any of them share its budget.
func (r *Reservation) Failed(ctx context.Context, legacyID string) {
	if r == nil {
		return
	}
	r.settle(ctx, outcomeFailure)
	if legacyID == "" || r.attempt.Action != Login {
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
