package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/trickle-auth/trickle/connectors/kit/tracing"
	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
)

// A first login is one trace: the auth service's Login span, its call to
// the connector, and the connector's own span as that call's child.
func TestTraceFollowsTheLoginIntoTheConnector(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := tracing.NewProvider("trickle-auth-test", sdktrace.WithSyncer(exp))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() {
		otel.SetTracerProvider(prevTP)
		otel.SetTextMapPropagator(prevProp)
		_ = tp.Shutdown(context.Background())
	})

	e := newEnv(t)
	srv := e.start(e.config())
	if _, err := authClient(t, srv).Login(context.Background(), &authv1.LoginRequest{Connection: "legacy", Identifier: "grace", Password: "pa55-wörd"}); err != nil {
		t.Fatal(err)
	}
	// The server span ends just after the response is sent: wait for it.
	var spans tracetest.SpanStubs
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		spans = exp.GetSpans()
		n := 0
		for _, s := range spans {
			if strings.HasPrefix(s.Name, "trickle.") {
				n++
			}
		}
		if n >= 3 {
			break
		}
	}
	find := func(name string, kind trace.SpanKind) *tracetest.SpanStub {
		for i := range spans {
			if spans[i].Name == name && spans[i].SpanKind == kind {
				return &spans[i]
			}
		}
		t.Fatalf("no %v span %q among %d spans", kind, name, len(spans))
		return nil
	}
	login := find("trickle.auth.v1.AuthService/Login", trace.SpanKindServer)
	call := find("trickle.connector.v1.LegacyConnector/Login", trace.SpanKindClient)
	legacy := find("trickle.connector.v1.LegacyConnector/Login", trace.SpanKindServer)
	if call.SpanContext.TraceID() != login.SpanContext.TraceID() || legacy.SpanContext.TraceID() != login.SpanContext.TraceID() {
		t.Fatal("the connector call is not in the login's trace")
	}
	if legacy.Parent.SpanID() != call.SpanContext.SpanID() {
		t.Fatal("the connector's span is not the child of the auth service's call")
	}
	for _, s := range spans {
		for _, a := range s.Attributes {
			if v := a.Value.Emit(); v == "pa55-wörd" {
				t.Fatalf("span %s carries the password in %s", s.Name, a.Key)
			}
		}
	}
}
