package server

import (
	"fmt"
	"net/http"
)

// limitBody caps REST request bodies at max bytes. A body announced larger
// (Content-Length) is refused before it is read with 413 and the gateway's
// error shape, RESOURCE_EXHAUSTED as gRPC answers a message over its
// limit; a chunked body that runs over is cut at max and fails decoding
// (400).
func limitBody(h http.Handler, max int64) http.Handler {
	limited := http.MaxBytesHandler(h, max)
	body := fmt.Sprintf(`{"code":8,"message":"request body larger than %d bytes","details":[]}`+"\n", max)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Connection", "close") // the body is not read
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			_, _ = w.Write([]byte(body))
			return
		}
		limited.ServeHTTP(w, r)
	})
}
