package api

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/trickle-auth/trickle/services/auth/internal/apperr"
)

// AdmissionConfig bounds the calls that hash passwords (see
// config.Limits).
type AdmissionConfig struct {
	MaxInFlight, MaxQueue, MaxPerClient int
	QueueTimeout, DefaultDeadline       time.Duration
}

// HashingMethods are the AuthService calls that hash or verify a password
// (and may call a legacy store): the ones admission control queues.
var HashingMethods = []string{
	"/trickle.auth.v1.AuthService/Login",
	"/trickle.auth.v1.AuthService/SignUp",
	"/trickle.auth.v1.AuthService/RequestPasswordReset",
	"/trickle.auth.v1.AuthService/ResetPassword",
}

// Admission is a bounded wait queue in front of the password work: at most
// MaxInFlight calls run, MaxQueue more wait up to QueueTimeout, and one
// client IP holds at most MaxPerClient of either. Everything else is
// refused at once with RESOURCE_EXHAUSTED and a Retry-After, so memory
// stays bounded and a flood from one address cannot starve other users.
type Admission struct {
	cfg     AdmissionConfig
	ips     ClientIPs
	slots   chan struct{}
	methods map[string]bool

	mu      sync.Mutex
	waiting int
	perIP   map[string]int // in flight or waiting; entries removed at 0

	refused *prometheus.CounterVec
}

// NewAdmission returns the limiter; reg may be nil.
func NewAdmission(cfg AdmissionConfig, ips ClientIPs, reg prometheus.Registerer) *Admission {
	a := &Admission{
		cfg: cfg, ips: ips, slots: make(chan struct{}, cfg.MaxInFlight),
		methods: map[string]bool{}, perIP: map[string]int{},
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trickle_admission_refused_total",
			Help: "Calls refused with RESOURCE_EXHAUSTED by admission control, by reason (queue_full, per_client, queue_timeout).",
		}, []string{"reason"}),
	}
	for _, m := range HashingMethods {
		a.methods[m] = true
	}
	if reg != nil {
		reg.MustRegister(a.refused)
	}
	return a
}

// overloaded is the refusal; the interceptor turns RetryAfter into the
// retry-after header (HTTP Retry-After) and a RetryInfo detail.
func (a *Admission) overloaded(reason string) error {
	a.refused.WithLabelValues(reason).Inc()
	return &apperr.Error{Kind: apperr.ResourceExhausted, Msg: "server busy, try again later", RetryAfter: time.Second, Reason: apperr.ReasonServerBusy}
}

// Unary applies the default deadline to every call and admission to the
// hashing methods. Place it after UnaryInterceptor, which logs and maps
// the refusal.
func (a *Admission) Unary() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if _, ok := ctx.Deadline(); !ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, a.cfg.DefaultDeadline)
			defer cancel()
		}
		if !a.methods[info.FullMethod] {
			return handler(ctx, req)
		}
		release, err := a.acquire(ctx, a.ips.Of(ctx))
		if err != nil {
			return nil, err
		}
		defer release()
		return handler(ctx, req)
	}
}

// acquire takes an in-flight slot for ip, waiting in the bounded queue.
func (a *Admission) acquire(ctx context.Context, ip string) (func(), error) {
	a.mu.Lock()
	if a.perIP[ip] >= a.cfg.MaxPerClient {
		a.mu.Unlock()
		return nil, a.overloaded("per_client")
	}
	select {
	case a.slots <- struct{}{}:
		a.perIP[ip]++
		a.mu.Unlock()
		return func() { <-a.slots; a.leave(ip) }, nil
	default:
	}
	if a.waiting >= a.cfg.MaxQueue {
		a.mu.Unlock()
		return nil, a.overloaded("queue_full")
	}
	a.waiting++
	a.perIP[ip]++
	a.mu.Unlock()

	t := time.NewTimer(a.cfg.QueueTimeout)
	defer t.Stop()
	var err error
	select {
	case a.slots <- struct{}{}:
	case <-t.C:
		err = a.overloaded("queue_timeout")
	case <-ctx.Done():
		err = apperr.Wrap(apperr.Internal, ctx.Err(), "waiting for admission")
	}
	a.mu.Lock()
	a.waiting--
	a.mu.Unlock()
	if err != nil {
		a.leave(ip)
		return nil, err
	}
	return func() { <-a.slots; a.leave(ip) }, nil
}

func (a *Admission) leave(ip string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.perIP[ip]--; a.perIP[ip] <= 0 {
		delete(a.perIP, ip)
	}
}
