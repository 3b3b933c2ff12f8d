package bruteforce

import (
	"net/netip"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Account names the account an attempt is about, so that every spelling of
// it shares one budget. Build it with one of the constructors.
type Account string

// UserAccount is a user known to Trickle. A migrated user is keyed by its
// legacy id, so the budget spent on it before the migration carries over.
func UserAccount(userID, legacyID string) Account {
	if legacyID != "" {
		return LegacyAccount(legacyID)
	}
	return Account("u:" + userID)
}

// LegacyAccount is the account a legacy store matched (the connector names
// it in its refusal of a wrong password).
func LegacyAccount(legacyID string) Account { return Account("l:" + legacyID) }

// SpelledAccount is an identifier as typed, folded the way the common
// database collations compare: the budget of an account the store cannot
// resolve yet (unknown, or not migrated).
func SpelledAccount(identifier string) Account { return Account("c:" + Canonical(identifier)) }

// foldAccents removes combining marks after decomposition (à → a).
var foldAccents = runes.Remove(runes.In(unicode.Mn))

// Canonical folds an identifier so that spellings a legacy database treats
// as equal are equal: compatibility forms (NFKC: full-width letters,
// ligatures), case (full Unicode folding, ß → ss), accents (MySQL's and
// MariaDB's *_ci collations and SQL Server's *_AI ignore them), and
// surrounding spaces (PAD SPACE collations ignore trailing ones). Folding
// more than one store does only makes a budget shared by more spellings,
// which is the safe side.
func Canonical(identifier string) string {
	s, _, err := transform.String(transform.Chain(norm.NFKD, foldAccents, norm.NFKC), identifier)
	if err != nil {
		s = identifier // invalid UTF-8: keep the bytes, still one key per spelling
	}
	s = cases.Fold().String(s)
	return strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " ")
}

// ClientNet is the budget key of a client address: an IPv4 address, or the
// /64 of an IPv6 address (one subscriber usually holds a whole /64, so a
// budget per /128 would be one per attempt).
func ClientNet(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		if ip == "" {
			return "unknown"
		}
		return "x:" + hashed("", ip)
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
