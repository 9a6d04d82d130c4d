package server_test

import (
	"io"
	"log/slog"
	"os"
)

func discardLogger() *slog.Logger {
	if os.Getenv("PAYMUX_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
