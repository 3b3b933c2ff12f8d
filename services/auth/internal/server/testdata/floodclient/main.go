// Command floodclient sends many concurrent logins to an auth service and
// prints how they were answered, as JSON. The admission test builds it
// without the race detector and runs it beside the service, so the flood
// can be far larger than the race detector's goroutine limit and its
// memory is not counted as the service's.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	authv1 "github.com/trickle-auth/trickle/proto/gen/trickle/auth/v1"
)

func main() {
	addr := flag.String("addr", "", "gRPC address of the auth service")
	n := flag.Int("n", 20000, "concurrent logins")
	conns := flag.Int("conns", 400, "client connections")
	connection := flag.String("connection", "legacy", "")
	identifier := flag.String("identifier", "", "")
	pw := flag.String("password", "", "")
	src := flag.String("src", "127.0.0.2", "local address to connect from (the service limits calls per client address)")
	flag.Parse()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(*src)}}
	dial := func(ctx context.Context, a string) (net.Conn, error) { return dialer.DialContext(ctx, "tcp", a) }
	clients := make([]authv1.AuthServiceClient, *conns)
	for i := range clients {
		cc, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithContextDialer(dial))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer cc.Close()
		clients[i] = authv1.NewAuthServiceClient(cc)
	}
	var mu sync.Mutex
	out := struct {
		Codes      map[string]int    `json:"codes"`
		RetryAfter int               `json:"retry_after"`
		Samples    map[string]string `json:"samples"` // one message per code
	}{Codes: map[string]int{}, Samples: map[string]string{}}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var hdr metadata.MD
			_, err := clients[i%len(clients)].Login(ctx, &authv1.LoginRequest{Connection: *connection, Identifier: *identifier, Password: *pw}, grpc.Header(&hdr))
			mu.Lock()
			code := status.Code(err).String()
			out.Codes[code]++
			if err != nil && out.Samples[code] == "" {
				out.Samples[code] = status.Convert(err).Message()
			}
			if len(hdr.Get("retry-after")) == 1 {
				out.RetryAfter++
			}
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
