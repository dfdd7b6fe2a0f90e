// Package storetest gives tests a throwaway, migrated PostgreSQL database and
// a Redis address. When either service is missing the test fails with a clear
// message; it never skips.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/migrations"
)

// AdminDSN is the server tests create their databases on: TEST_DATABASE_URL,
// else DATABASE_URL, else the local default. It always names the "postgres"
// maintenance database, which exists on every server, so the app's own
// database need not exist for tests to run.
func AdminDSN() string {
	for _, k := range []string{"TEST_DATABASE_URL", "DATABASE_URL"} {
		if v := os.Getenv(k); v != "" {
			if d, err := store.WithDatabase(v, "postgres"); err == nil {
				return d
			}
			return v
		}
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// RedisURL is the Redis tests use: TEST_REDIS_URL, else REDIS_URL, else local.
func RedisURL() string {
	for _, k := range []string{"TEST_REDIS_URL", "REDIS_URL"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "redis://127.0.0.1:6379/0"
}

// NewDatabase creates a fresh database, migrates it and drops it when the test
// ends. It returns the DSN of the new database.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	admin := AdminDSN()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "ct_test_" + hex.EncodeToString(b[:])
	if err := store.CreateDatabase(ctx, admin, name); err != nil {
		t.Fatalf("PostgreSQL is required for this test and is not usable at %s: %v (start it, or set TEST_DATABASE_URL)", redact(admin), err)
	}
	dsn, err := store.WithDatabase(admin, name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := store.DropDatabase(ctx, admin, name); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	s, err := store.Open(ctx, dsn, store.Options{MaxOpenConns: 4, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx, migrations.FS, "up"); err != nil {
		t.Fatalf("migrate test database: %v", err)
	}
	return dsn
}

// New returns a Store on a fresh migrated database, closed at test end.
func New(t testing.TB) (*store.Store, string) {
	t.Helper()
	dsn := NewDatabase(t)
	s, err := store.Open(context.Background(), dsn, store.Options{MaxOpenConns: 20, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, dsn
}

// RequireRedis fails the test when Redis does not answer and returns its URL.
func RequireRedis(t testing.TB) string {
	t.Helper()
	u := RedisURL()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatalf("bad redis url %q: %v", u, err)
	}
	c, err := net.DialTimeout("tcp", pu.Host, 2*time.Second)
	if err != nil {
		t.Fatalf("Redis is required for this test and is not reachable at %s: %v (start it, or set TEST_REDIS_URL)", pu.Host, err)
	}
	_ = c.Close()
	return u
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "DATABASE_URL"
	}
	return u.Redacted()
}

// RedisDB reserves one of Redis's numbered databases (1-15) for the test,
// flushes it, and returns a URL pointing at it, so that queues of tests
// running in parallel (in other packages) never see each other's tasks. The
// reservation is a key in database 0 that expires if the test dies.
func RedisDB(t testing.TB) string {
	t.Helper()
	base := RequireRedis(t)
	opt, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("bad redis url: %v", err)
	}
	ctl := redis.NewClient(&redis.Options{Addr: opt.Addr, Password: opt.Password, DB: 0})
	defer ctl.Close()
	ctx := context.Background()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for db := 1; db <= 15; db++ {
			key := fmt.Sprintf("coupontrail:test-redis-db:%d", db)
			ok, err := ctl.SetNX(ctx, key, os.Getpid(), 10*time.Minute).Result()
			if err != nil {
				t.Fatalf("Redis is required for this test: %v", err)
			}
			if !ok {
				continue
			}
			c := redis.NewClient(&redis.Options{Addr: opt.Addr, Password: opt.Password, DB: db})
			if err := c.FlushDB(ctx).Err(); err != nil {
				t.Fatalf("flush redis db %d: %v", db, err)
			}
			_ = c.Close()
			t.Cleanup(func() {
				c := redis.NewClient(&redis.Options{Addr: opt.Addr, Password: opt.Password, DB: db})
				_ = c.FlushDB(context.Background()).Err()
				_ = c.Close()
				ctl := redis.NewClient(&redis.Options{Addr: opt.Addr, Password: opt.Password, DB: 0})
				_ = ctl.Del(context.Background(), key).Err()
				_ = ctl.Close()
			})
			return fmt.Sprintf("redis://%s/%d", opt.Addr, db)
		}
		if time.Now().After(deadline) {
			t.Fatal("no free Redis test database (1-15) within 2 minutes")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
