package api

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
)

// ClientIPs finds the address of the client behind a call, for brute-force
// protection. Forwarded headers are believed only from trusted proxies:
// the in-process REST gateway (loopback) and the operator's load balancers.
type ClientIPs struct {
	Trusted []netip.Prefix
}

// DefaultTrustedProxies trusts loopback only: the REST gateway dials the
// gRPC port in-process and forwards the HTTP client's address.
func DefaultTrustedProxies() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

func (c ClientIPs) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, p := range c.Trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Of returns the client IP: the peer address, or, when the peer is a
// trusted proxy, the right-most address in x-forwarded-for that is not a
// trusted proxy itself (left-most entries are client-controlled).
func (c ClientIPs) Of(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok || p.Addr == nil {
		return "unknown"
	}
	host, _, err := net.SplitHostPort(p.Addr.String())
	if err != nil {
		host = p.Addr.String()
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	if !c.trusted(addr) {
		return addr.Unmap().String()
	}
	md, _ := metadata.FromIncomingContext(ctx)
	var hops []string
	for _, v := range md.Get("x-forwarded-for") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage: stop believing the chain
		}
		if !c.trusted(h) {
			return h.Unmap().String()
		}
		addr = h
	}
	return addr.Unmap().String()
}
