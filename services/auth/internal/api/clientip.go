package api

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/test/bufconn"
)

// ClientIPs finds the address of the client behind a call, for brute-force
// protection, admission and logs. A forwarded address is believed only
// from the in-process REST gateway (recognised by its in-memory
// connection, which no external caller can reach) and from the operator's
// proxies (Trusted). Loopback is not trusted by default: in a sidecar mesh
// every caller is loopback.
type ClientIPs struct {
	Trusted []netip.Prefix
}

// gatewayClientIPKey carries the REST client's address from the
// in-process gateway to the gRPC handlers; believed only on the gateway's
// connection.
const gatewayClientIPKey = "x-trickle-client-ip"

func (c ClientIPs) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Of returns the client IP of a gRPC call: the peer address, the address
// the in-process gateway forwarded, or, when the peer is a trusted proxy,
// the right-most x-forwarded-for address that is not a trusted proxy.
func (c ClientIPs) Of(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return "unknown"
	}
	md, _ := metadata.FromIncomingContext(ctx)
	if _, ok := p.Addr.(gatewayAddr); ok {
		if v := md.Get(gatewayClientIPKey); len(v) == 1 {
			if a, err := netip.ParseAddr(v[0]); err == nil {
				return a.Unmap().String()
			}
		}
		return "unknown" // the gateway always sets it; never trust anything else
	}
	return c.resolve(p.Addr.String(), md.Get("x-forwarded-for"))
}

// OfHTTP is Of for a REST request: the HTTP peer, or its validated
// X-Forwarded-For when the peer is a trusted proxy.
func (c ClientIPs) OfHTTP(r *http.Request) string {
	return c.resolve(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
}

// resolve walks x-forwarded-for from the right while the hops are trusted
// proxies; left-most entries are client-controlled. A malformed hop ends
// the walk at the last address known good (never at the gateway).
func (c ClientIPs) resolve(peerAddr string, forwarded []string) string {
	host, _, err := net.SplitHostPort(peerAddr)
	if err != nil {
		host = peerAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return "unknown"
	}
	var hops []string
	for _, v := range forwarded {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0 && c.trusted(addr); i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		addr = h
	}
	return addr.Unmap().String()
}

type clientIPCtxKey struct{}

// GatewayHandler resolves the REST client's address from the HTTP request
// and removes forwarding headers before grpc-gateway sees them (it would
// forward them, and drops values that are not ASCII). GatewayMetadata then
// hands the address to the gRPC side.
func (c ClientIPs) GatewayHandler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := c.OfHTTP(r)
		r = r.WithContext(context.WithValue(r.Context(), clientIPCtxKey{}, ip))
		r.Header.Del("X-Forwarded-For")
		r.Header.Del("Forwarded")
		h.ServeHTTP(w, r)
	})
}

// GatewayMetadata is a runtime.WithMetadata annotator: the client address
// found by GatewayHandler.
func GatewayMetadata(ctx context.Context, _ *http.Request) metadata.MD {
	ip, _ := ctx.Value(clientIPCtxKey{}).(string)
	if ip == "" {
		ip = "unknown"
	}
	return metadata.Pairs(gatewayClientIPKey, ip)
}

// GatewayHeaderMatcher is grpc-gateway's default incoming header matcher,
// except that a REST client can never set the forwarded-address metadata
// (Grpc-Metadata-X-Trickle-Client-Ip and the like are dropped).
func GatewayHeaderMatcher(key string) (string, bool) {
	md, ok := runtime.DefaultHeaderMatcher(key)
	switch strings.ToLower(md) {
	case gatewayClientIPKey, "x-forwarded-for", "forwarded":
		return "", false
	}
	return md, ok
}

// GatewayListener is the in-memory listener the REST gateway dials: the
// gRPC server tells gateway calls from network ones by its connections'
// remote address, which no network caller can produce.
type GatewayListener struct{ *bufconn.Listener }

// NewGatewayListener returns an in-memory listener.
func NewGatewayListener() *GatewayListener {
	return &GatewayListener{bufconn.Listen(256 << 10)}
}

// Accept returns the next gateway connection, marked as such.
func (l *GatewayListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return gatewayConn{c}, nil
}

// Dial is a grpc.WithContextDialer dialer.
func (l *GatewayListener) Dial(ctx context.Context, _ string) (net.Conn, error) {
	return l.DialContext(ctx)
}

type gatewayConn struct{ net.Conn }

func (gatewayConn) RemoteAddr() net.Addr { return gatewayAddr{} }

type gatewayAddr struct{}

func (gatewayAddr) Network() string { return "memory" }
func (gatewayAddr) String() string  { return "rest-gateway" }
