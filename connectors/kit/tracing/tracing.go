// Package tracing sets up OpenTelemetry tracing for Trickle's services and
// the gRPC instrumentation that carries a trace from the auth service into
// a connector. Tracing is off unless an exporter is configured.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
)

// Config is the `tracing:` section of a service's configuration.
type Config struct {
	// Exporter: "" or "none" (off, the default) or "otlp" (OTLP over gRPC).
	Exporter string `yaml:"exporter"`
	// Endpoint of the OTLP collector, host:port. Default localhost:4317.
	Endpoint string `yaml:"endpoint"`
	// Insecure sends spans without TLS (a collector sidecar on loopback).
	Insecure bool `yaml:"insecure"`
	// SampleRatio of new traces to record, 0..1; a trace started upstream
	// keeps its parent's decision. Default 1.
	SampleRatio *float64 `yaml:"sample_ratio"`
}

// Validate checks the section.
func (c Config) Validate() error {
	switch c.Exporter {
	case "", "none", "otlp":
	default:
		return fmt.Errorf("tracing.exporter %q: want none or otlp", c.Exporter)
	}
	if r := c.SampleRatio; r != nil && (*r < 0 || *r > 1) {
		return errors.New("tracing.sample_ratio must be between 0 and 1")
	}
	return nil
}

// Enabled reports whether spans are exported.
func (c Config) Enabled() bool { return c.Exporter == "otlp" }

// Setup installs the global tracer provider and the W3C trace-context
// propagator. The returned function flushes and stops the exporter. With no
// exporter it only installs the propagator, so traces started by callers
// still flow through.
func Setup(ctx context.Context, service string, c Config) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	if !c.Enabled() {
		return func(context.Context) error { return nil }, nil
	}
	opts := []otlptracegrpc.Option{}
	if c.Endpoint != "" {
		opts = append(opts, otlptracegrpc.WithEndpoint(c.Endpoint))
	}
	if c.Insecure {
		opts = append(opts, otlptracegrpc.WithInsecure())
	}
	exp, err := otlptracegrpc.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	tp := NewProvider(service, sdktrace.WithBatcher(exp), sdktrace.WithSampler(sampler(c)))
	otel.SetTracerProvider(tp)
	return tp.Shutdown, nil
}

func sampler(c Config) sdktrace.Sampler {
	ratio := 1.0
	if c.SampleRatio != nil {
		ratio = *c.SampleRatio
	}
	return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))
}

// NewProvider returns a tracer provider naming the service (tests pass an
// in-memory exporter through opts).
func NewProvider(service string, opts ...sdktrace.TracerProviderOption) *sdktrace.TracerProvider {
	res := resource.NewSchemaless(attribute.String("service.name", service))
	return sdktrace.NewTracerProvider(append([]sdktrace.TracerProviderOption{sdktrace.WithResource(res)}, opts...)...)
}

// ServerOption instruments a gRPC server: a span per call, continuing the
// caller's trace. Health checks are not traced.
func ServerOption() grpc.ServerOption {
	return grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithFilter(func(info *stats.RPCTagInfo) bool {
		return !strings.HasPrefix(info.FullMethodName, "/grpc.health.v1.Health/")
	})))
}

// DialOption instruments a gRPC client: a span per call, propagated to the
// server in the request metadata.
func DialOption() grpc.DialOption {
	return grpc.WithStatsHandler(otelgrpc.NewClientHandler())
}
