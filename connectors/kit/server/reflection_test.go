package server_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/trickle-auth/trickle/connectors/kit/server"
	connectorv1 "github.com/trickle-auth/trickle/proto/gen/trickle/connector/v1"
)

// TestHealthAndReflectionWithoutCredential does what `grpcurl host:port
// list` and a health check through grpcurl do, with no token: both answer,
// while the connector's own calls stay refused.
func TestHealthAndReflectionWithoutCredential(t *testing.T) {
	var cfg server.Config
	cfg.SetDefaults()
	_, _, addr := serveAt(t, &blocking{}, cfg)
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection without a credential: %v", err)
	}
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{connectorv1.LegacyConnector_ServiceDesc.ServiceName, "grpc.health.v1.Health"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %v, want %s among them", names, want)
		}
	}
	// What grpcurl asks next to describe a method.
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_FileContainingSymbol{FileContainingSymbol: connectorv1.LegacyConnector_ServiceDesc.ServiceName}}); err != nil {
		t.Fatal(err)
	}
	if resp, err := stream.Recv(); err != nil || len(resp.GetFileDescriptorResponse().GetFileDescriptorProto()) == 0 {
		t.Errorf("file containing %s: %v, %v", connectorv1.LegacyConnector_ServiceDesc.ServiceName, resp, err)
	}
	_ = stream.CloseSend()

	h, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || h.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health without a credential: %v, %v", h, err)
	}
	_, err = connectorv1.NewLegacyConnectorClient(conn).GetUser(ctx, &connectorv1.GetUserRequest{Identifier: "a"})
	if status.Code(err) != codes.Unauthenticated {
		t.Errorf("GetUser without a credential: %v, want UNAUTHENTICATED", err)
	}
}

// TestReadyzSaysWhy: an operator reads the store's failure in the 503.
func TestReadyzSaysWhy(t *testing.T) {
	var cfg server.Config
	cfg.SetDefaults()
	_, ops := serve(t, &blocking{ready: errors.New(`relation "auth_user_groups" does not exist`)}, cfg)
	body := get(t, ops+"/readyz", http.StatusServiceUnavailable)
	if !strings.Contains(body, "auth_user_groups") {
		t.Errorf("/readyz body %q does not name the missing table", body)
	}
}
