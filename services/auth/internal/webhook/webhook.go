// Package webhook delivers events (password-reset tickets) to an
// operator's endpoint: JSON bodies signed with HMAC-SHA256 over the
// timestamp and the body, retried with capped exponential backoff and
// jitter. Bodies carry secrets (tickets), so they are never logged and
// never part of an error.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Headers of a delivery.
const (
	HeaderTimestamp = "X-Trickle-Timestamp" // unix seconds
	HeaderSignature = "X-Trickle-Signature" // "v1=" + hex HMAC-SHA256(secret, timestamp + "." + body)
	HeaderDelivery  = "X-Trickle-Delivery"  // same on every retry: receivers deduplicate with it
)

// Config of a Sender.
type Config struct {
	URL            string
	Secret         func() (string, error) // read per delivery: rotation applies at once
	Timeout        time.Duration          // per attempt
	MaxAttempts    int
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
}

// Sender posts signed events.
type Sender struct {
	cfg    Config
	client *http.Client
}

// New returns a sender.
func New(cfg Config) *Sender {
	return &Sender{cfg: cfg, client: &http.Client{Timeout: cfg.Timeout}}
}

// ErrRejected: the receiver answered a 4xx other than 408 and 429;
// retrying would not help.
var ErrRejected = errors.New("webhook: delivery rejected")

// Sign returns the signature header value for body at timestamp ts.
func Sign(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a delivery's signature and that its timestamp is within
// tolerance of now (receivers should reject replays).
func Verify(secret, tsHeader, sigHeader string, body []byte, now time.Time, tolerance time.Duration) bool {
	ts, err := strconv.ParseInt(tsHeader, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sigHeader))
}

// Send delivers the event, retrying until it is accepted, rejected, out of
// attempts or ctx ends. It returns the number of attempts made.
func (s *Sender) Send(ctx context.Context, event any) (int, error) {
	body, err := json.Marshal(event)
	if err != nil {
		return 0, fmt.Errorf("webhook: encode event: %w", err)
	}
	secret, err := s.cfg.Secret()
	if err != nil {
		return 0, fmt.Errorf("webhook: secret: %w", err)
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	delivery := hex.EncodeToString(id[:])
	backoff := s.cfg.InitialBackoff
	for attempt := 1; ; attempt++ {
		err = s.post(ctx, secret, delivery, body)
		if err == nil || errors.Is(err, ErrRejected) || attempt >= s.cfg.MaxAttempts {
			return attempt, err
		}
		// Full jitter keeps many failing deliveries from retrying in step.
		wait := backoff/2 + time.Duration(mrand.Int64N(int64(backoff)/2+1))
		select {
		case <-ctx.Done():
			return attempt, fmt.Errorf("webhook: gave up: %w (last: %v)", ctx.Err(), err)
		case <-time.After(wait):
		}
		backoff = min(backoff*2, s.cfg.MaxBackoff)
	}
}

func (s *Sender) post(ctx context.Context, secret, delivery string, body []byte) error {
	ts := time.Now().Unix()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(secret, ts, body))
	req.Header.Set(HeaderDelivery, delivery)
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: post: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c >= 400 && c < 500 && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests:
		return fmt.Errorf("%w: status %d", ErrRejected, c)
	default:
		return fmt.Errorf("webhook: status %d", c)
	}
}
