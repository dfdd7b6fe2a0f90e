package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/coupontrail/coupontrail/app/store"
)

// apiError is the JSON error body: {"error":{"code","message"}}.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// codedError is a client error with a stable code.
type codedError struct {
	Status  int
	Code    string
	Message string
}

func (e *codedError) Error() string { return e.Code + ": " + e.Message }

func errCode(status int, code, msg string) error {
	return &codedError{Status: status, Code: code, Message: msg}
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "payload_too_large"
	case http.StatusUnprocessableEntity:
		return "invalid"
	case http.StatusTooManyRequests:
		return "rate_limited"
	case http.StatusServiceUnavailable:
		return "unavailable"
	default:
		return "internal"
	}
}

// httpErrorHandler is the one place errors become responses. Client errors
// keep their message; anything else is logged once and answered without
// internals.
func (a *App) httpErrorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, code, msg := http.StatusInternalServerError, "internal", "internal error"
	var ce *codedError
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ce):
		status, code, msg = ce.Status, ce.Code, ce.Message
	case errors.As(err, &he):
		status, code = he.Code, codeForStatus(he.Code)
		msg = fmt.Sprint(he.Message)
	case errors.Is(err, store.ErrNotFound):
		status, code, msg = http.StatusNotFound, "not_found", "not found"
	case errors.Is(err, store.ErrConflict):
		status, code, msg = http.StatusConflict, "conflict", "already exists"
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		status, code, msg = http.StatusServiceUnavailable, "unavailable", "a dependency is unavailable, retry later"
	}
	if status >= 500 {
		a.log.ErrorContext(c.Request().Context(), "request failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "route", c.Path(), "status", status, "err", err)
	}
	var body apiError
	body.Error.Code, body.Error.Message = code, msg
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

func (a *App) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

func (a *App) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				a.log.Error("handler panicked", "route", c.Path(), "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// observe records metrics and logs one line per request.
func (a *App) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		a.metrics.HTTPInFlight.Inc()
		defer a.metrics.HTTPInFlight.Dec()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		d := time.Since(start)
		a.metrics.HTTPRequests.WithLabelValues(route, c.Request().Method, strconv.Itoa(status)).Inc()
		a.metrics.HTTPDuration.WithLabelValues(route, c.Request().Method).Observe(d.Seconds())
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelWarn
		}
		a.log.Log(c.Request().Context(), level, "http", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "route", route, "status", status, "duration_ms", d.Milliseconds())
		return nil
	}
}

func (a *App) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz checks PostgreSQL and Redis concurrently, each within a short
// timeout, and names the dependency that fails.
func (a *App) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 1500*time.Millisecond)
	defer cancel()
	checks := map[string]func(context.Context) error{
		"postgres": a.store.Ping,
		"redis":    func(ctx context.Context) error { return a.redis.Ping(ctx).Err() },
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	res := map[string]string{}
	for name, fn := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := "ok"
			if err := fn(ctx); err != nil {
				st = "unavailable"
			}
			mu.Lock()
			res[name] = st
			mu.Unlock()
		}()
	}
	wg.Wait()
	var failing []string
	for _, n := range []string{"postgres", "redis"} {
		if res[n] != "ok" {
			failing = append(failing, n)
		}
	}
	body := map[string]any{"checks": res}
	if len(failing) > 0 {
		body["status"] = "unavailable"
		body["failing"] = failing
		return c.JSON(http.StatusServiceUnavailable, body)
	}
	body["status"] = "ok"
	return c.JSON(http.StatusOK, body)
}

func (a *App) metricsHandler() echo.HandlerFunc {
	h := promhttp.HandlerFor(a.metrics.Registry, promhttp.HandlerOpts{})
	return echo.WrapHandler(h)
}
