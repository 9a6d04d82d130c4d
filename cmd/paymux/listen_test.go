package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paymux/paymux/webhook"
)

// syncBuffer is a bytes.Buffer safe for the command's goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestListenWebhooks: the development receiver checks signatures with the
// given secret and answers the status it was told to.
func TestListenWebhooks(t *testing.T) {
	secret := webhook.NewSecret()
	key, err := webhook.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd := newListenCommand()
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--secret", secret, "--status", "503"})
	cmd.SetOut(&out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("listen-webhooks: %v", err)
		}
	}()
	addr := regexp.MustCompile(`at (http://[^/]+)/`)
	var url string
	for deadline := time.Now().Add(5 * time.Second); url == ""; time.Sleep(10 * time.Millisecond) {
		if m := addr.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no address printed: %q", out.String())
		}
	}
	send := func(keys [][]byte) int {
		body := []byte(`{"type":"payment.paid"}`)
		now := time.Now()
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		req.Header = webhook.Headers("evt_1", now, webhook.Sign(keys, "evt_1", now, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := send([][]byte{key}); st != http.StatusServiceUnavailable {
		t.Fatalf("answered %d, want 503", st)
	}
	other, _ := webhook.ParseSecret(webhook.NewSecret())
	send([][]byte{other})
	got := out.String()
	if !strings.Contains(got, "webhook-id=evt_1 signature OK") || !strings.Contains(got, "signature BAD") {
		t.Fatalf("output:\n%s", got)
	}
}
