// Package proto_test checks the generated contracts as a whole: every public
// RPC has a REST route in the committed OpenAPI document, and the connector
// contract has the shape the auth service relies on.
package proto_test

import (
	"encoding/json"
	"os"
	"sort"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

func TestEveryAuthRPCHasARESTRoute(t *testing.T) {
	raw, err := os.ReadFile("gen/openapiv2/trickle.swagger.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	routed := map[string]bool{}
	for _, ops := range doc.Paths {
		for _, op := range ops {
			routed[op.OperationID] = true
		}
	}
	var missing []string
	for _, sd := range []protoreflect.ServiceDescriptor{
		authv1.File_trickle_auth_v1_auth_proto.Services().ByName("AuthService"),
		authv1.File_trickle_auth_v1_management_proto.Services().ByName("ManagementService"),
	} {
		for i := 0; i < sd.Methods().Len(); i++ {
			id := string(sd.Name()) + "_" + string(sd.Methods().Get(i).Name())
			if !routed[id] {
				missing = append(missing, id)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("RPCs without an HTTP rule in proto/auth/trickle/auth/v1/http.yaml: %v", missing)
	}
}

func TestConnectorContractShape(t *testing.T) {
	sd := connectorv1.File_trickle_connector_v1_connector_proto.Services().ByName("LegacyConnector")
	if sd == nil {
		t.Fatal("trickle.connector.v1.LegacyConnector is missing")
	}
	want := map[string]bool{"Login": false, "GetUser": false, "CountUsers": false, "ListUsers": true}
	for name, streaming := range want {
		m := sd.Methods().ByName(protoreflect.Name(name))
		if m == nil {
			t.Errorf("method %s is missing", name)
			continue
		}
		if m.IsStreamingServer() != streaming || m.IsStreamingClient() {
			t.Errorf("%s: server streaming = %v, client streaming = %v", name, m.IsStreamingServer(), m.IsStreamingClient())
		}
	}
}

// The ErrorInfo reasons connectors send are the enum value names without
// their prefix; old and new connectors and the auth service must agree on
// these exact strings and numbers, so they are pinned here.
func TestConnectorErrorReasonsArePinned(t *testing.T) {
	want := map[connectorv1.ErrorReason]string{
		connectorv1.ErrorReason_ERROR_REASON_UNSPECIFIED:            "ERROR_REASON_UNSPECIFIED",
		connectorv1.ErrorReason_ERROR_REASON_WRONG_PASSWORD:         "ERROR_REASON_WRONG_PASSWORD",
		connectorv1.ErrorReason_ERROR_REASON_UNKNOWN_USER:           "ERROR_REASON_UNKNOWN_USER",
		connectorv1.ErrorReason_ERROR_REASON_CALLER_UNAUTHENTICATED: "ERROR_REASON_CALLER_UNAUTHENTICATED",
	}
	nums := map[connectorv1.ErrorReason]int32{0: 0, 1: 1, 2: 2, 3: 3}
	ed := connectorv1.File_trickle_connector_v1_connector_proto.Enums().ByName("ErrorReason")
	if ed == nil || ed.Values().Len() != len(want) {
		t.Fatalf("trickle.connector.v1.ErrorReason: %v, want %d values", ed, len(want))
	}
	for v, name := range want {
		if v.String() != name || int32(v) != nums[v] {
			t.Errorf("ErrorReason %d is %s, want %s", int32(v), v.String(), name)
		}
	}
	if got := connectorv1.File_trickle_connector_v1_connector_proto.Package(); got != "trickle.connector.v1" {
		t.Errorf("package (the ErrorInfo domain) is %s", got)
	}
}

// Clients see Auth0's snake_case field names in JSON.
func TestUserJSONUsesSnakeCase(t *testing.T) {
	meta, err := structpb.NewStruct(map[string]any{"plan": "gold"})
	if err != nil {
		t.Fatal(err)
	}
	u := &authv1.User{UserId: "u1", EmailVerified: true, UserMetadata: meta, Origin: authv1.UserOrigin_USER_ORIGIN_MIGRATED_ON_LOGIN}
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"user_id", "email_verified", "user_metadata", "origin"} {
		if _, ok := got[k]; !ok {
			t.Errorf("JSON %s lacks %q", b, k)
		}
	}
}
