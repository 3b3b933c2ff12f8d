package connectorerr_test

import (
	"strings"
	"testing"

	"github.com/trickle-auth/trickle/proto/connectorerr"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

func TestReasonsRoundTrip(t *testing.T) {
	for v := range connectorv1.ErrorReason_name {
		r := connectorv1.ErrorReason(v)
		if got := connectorerr.ParseReason(connectorerr.Reason(r)); got != r {
			t.Errorf("%v: parsed back as %v", r, got)
		}
	}
	if connectorerr.Reason(connectorv1.ErrorReason_ERROR_REASON_WRONG_PASSWORD) != "WRONG_PASSWORD" {
		t.Error("the wire form keeps the prefix")
	}
	for _, s := range []string{"", "ERROR_REASON_WRONG_PASSWORD", "wrong_password", "SOMETHING_NEW"} {
		if got := connectorerr.ParseReason(s); got != connectorv1.ErrorReason_ERROR_REASON_UNSPECIFIED {
			t.Errorf("ParseReason(%q) = %v, want UNSPECIFIED", s, got)
		}
	}
}

func TestValidLegacyID(t *testing.T) {
	for id, want := range map[string]bool{"42": true, "": false, strings.Repeat("x", 256): true, strings.Repeat("x", 257): false, "\xff": false} {
		if connectorerr.ValidLegacyID(id) != want {
			t.Errorf("ValidLegacyID(%.10q) != %v", id, want)
		}
	}
}
