package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/paymux/paymux/webhook"
)

// newListenCommand is a webhook receiver for development: it prints each
// webhook it receives, checks its signature when given the endpoint's
// secret, and answers the status it is told to, so that retries, the
// delivery log and resends can be watched without writing a receiver.
func newListenCommand() *cobra.Command {
	var (
		addr, secret string
		status       int
	)
	cmd := &cobra.Command{
		Use:   "listen-webhooks",
		Short: "Receive webhooks locally: print them, check signatures, answer a chosen status",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var key []byte
			if secret != "" {
				var err error
				if key, err = webhook.ParseSecret(secret); err != nil {
					return fmt.Errorf("--secret: %w", err)
				}
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "paymux: receiving webhooks at http://%s/ (answering %d; Ctrl-C stops)\n", ln.Addr(), status)
			var answer atomic.Int64
			answer.Store(int64(status))
			srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
				check := "signature not checked (no --secret)"
				if key != nil {
					check = "signature OK"
					if err := webhook.Verify(key, r.Header, body, time.Now(), 0); err != nil {
						check = "signature BAD: " + err.Error()
					}
				}
				fmt.Fprintf(out, "%s %s webhook-id=%s %s\n  %s\n", time.Now().Format(time.TimeOnly), r.Method,
					r.Header.Get(webhook.HeaderID), check, body)
				w.WriteHeader(int(answer.Load()))
			})}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			go func() {
				<-ctx.Done()
				shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = srv.Shutdown(shutdown) // stopping anyway
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "listen", "127.0.0.1:9000", "address to receive on")
	cmd.Flags().StringVar(&secret, "secret", "", "the endpoint's signing secret (whsec_...), to check signatures")
	cmd.Flags().IntVar(&status, "status", http.StatusOK, "HTTP status to answer (500 to watch retries)")
	return cmd
}
