package devstore

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// DefaultAddr is where `coupontrail devstore` listens unless DEVSTORE_ADDR says otherwise.
const DefaultAddr = "127.0.0.1:8081"

// Run serves a Store on addr until ctx is cancelled, then shuts down gracefully. When cfg.BaseURL is empty it is
// derived from the listener ("http://" + address).
func Run(ctx context.Context, addr string, cfg Config) error {
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://" + ln.Addr().String()
	}
	s := New(cfg)
	defer s.Close()
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("dev store listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL, "app_url", cfg.AppURL)
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
