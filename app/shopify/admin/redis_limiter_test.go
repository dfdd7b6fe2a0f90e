package admin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const redisAddr = "127.0.0.1:6379"

// newRedis connects to the real Redis the limiter runs on in production. It
// fails (never skips) when Redis is unreachable: the shared limiter is the
// point of these tests.
func newRedis(t *testing.T) *redis.Client {
	t.Helper()
	return newRedisAt(t, redisAddr)
}

func newRedisAt(t *testing.T, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		t.Fatalf("Redis at %s is unreachable (%v): start it (e.g. `redis-server --daemonize yes`); the Redis limiter tests need a real Redis", addr, err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// uniquePrefix isolates a test's keys and deletes them afterwards.
func uniquePrefix(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	p := fmt.Sprintf("test:coupontrail:admin:%s:%d", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := rdb.Keys(ctx, p+":*").Result()
		if len(keys) > 0 {
			rdb.Del(ctx, keys...)
		}
	})
	return p
}

func TestRedisLimiterReserveAndUpdate(t *testing.T) {
	t.Parallel()
	rdb := newRedis(t)
	l := NewRedisLimiter(rdb, uniquePrefix(t, rdb))
	ctx := context.Background()
	const shop = "acme.myshopify.com"

	// Cold start: defaults, a small reservation does not wait.
	start := time.Now()
	if err := l.Wait(ctx, shop, 100); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 200*time.Millisecond {
		t.Fatal("cold reservation waited")
	}
	av, err := l.Available(ctx, shop)
	if err != nil || av > DefaultMaxAvailable-100+5 || av < DefaultMaxAvailable-100-1 {
		t.Fatalf("available = %v, %v", av, err)
	}
	h, err := rdb.HGetAll(ctx, l.Key(shop)).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"available", "restoreRate", "max", "updatedAt"} {
		if h[f] == "" {
			t.Fatalf("state hash lacks %s: %v", f, h)
		}
	}
	if ttl := rdb.PTTL(ctx, l.Key(shop)).Val(); ttl <= 0 {
		t.Fatalf("no TTL on state: %v", ttl)
	}

	// Shopify's throttleStatus replaces the state.
	l.Update(ctx, shop, ThrottleStatus{MaximumAvailable: 2000, CurrentlyAvailable: 1954, RestoreRate: 100})
	av, _ = l.Available(ctx, shop)
	if av < 1954 || av > 1960 {
		t.Fatalf("available after update = %v", av)
	}
}

// TestRedisLimiterSharedAcrossReplicas: two limiters with separate Redis
// connections (two replicas) share one bucket; a reservation beyond the
// budget waits (cost − available)/restoreRate.
func TestRedisLimiterSharedAcrossReplicas(t *testing.T) {
	t.Parallel()
	rdb1, rdb2 := newRedis(t), newRedis(t)
	prefix := uniquePrefix(t, rdb1)
	a, b := NewRedisLimiter(rdb1, prefix), NewRedisLimiter(rdb2, prefix)
	ctx := context.Background()
	const shop = "shared.myshopify.com"

	a.Update(ctx, shop, ThrottleStatus{MaximumAvailable: 1000, CurrentlyAvailable: 100, RestoreRate: 500})
	// Replica b sees a's state: 100 available, so 100 is free...
	start := time.Now()
	if err := b.Wait(ctx, shop, 100); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 150*time.Millisecond {
		t.Fatalf("first reservation waited %s", el)
	}
	// ...and the next 200 points must wait ≈ 200/500 s = 400 ms.
	start = time.Now()
	if err := a.Wait(ctx, shop, 200); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 300*time.Millisecond || el > 1500*time.Millisecond {
		t.Fatalf("second reservation waited %s, want ≈400ms", el)
	}
}

// TestRedisLimiterConcurrentFairness: 10 callers over two replicas reserve
// 50 points each from an empty bucket restoring 1000/s; together they must
// take ≈ 500 ms, proving reservations are not double-spent.
func TestRedisLimiterConcurrentFairness(t *testing.T) {
	t.Parallel()
	rdb1, rdb2 := newRedis(t), newRedis(t)
	prefix := uniquePrefix(t, rdb1)
	ls := []*RedisLimiter{NewRedisLimiter(rdb1, prefix), NewRedisLimiter(rdb2, prefix)}
	ctx := context.Background()
	const shop = "busy.myshopify.com"
	ls[0].Update(ctx, shop, ThrottleStatus{MaximumAvailable: 1000, CurrentlyAvailable: 0, RestoreRate: 1000})
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := ls[i%2].Wait(ctx, shop, 50); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	if el := time.Since(start); el < 400*time.Millisecond || el > 2*time.Second {
		t.Fatalf("10×50 points at 1000/s took %s, want ≈500ms", el)
	}
}

func TestRedisLimiterCancelRefunds(t *testing.T) {
	t.Parallel()
	rdb := newRedis(t)
	l := NewRedisLimiter(rdb, uniquePrefix(t, rdb))
	const shop = "slow.myshopify.com"
	l.Update(context.Background(), shop, ThrottleStatus{MaximumAvailable: 1000, CurrentlyAvailable: 0, RestoreRate: 10})

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := l.Wait(ctx, shop, 500) // would wait 50 s
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("cancel took %s", el)
	}
	av, err := l.Available(context.Background(), shop)
	if err != nil {
		t.Fatal(err)
	}
	if av < 0 || av > 5 {
		t.Fatalf("available = %v after refund, want ≈1 (no lingering 500-point debt)", av)
	}

	// A deadline shorter than the wait fails at once.
	dctx, dcancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer dcancel()
	start = time.Now()
	if err := l.Wait(dctx, shop, 500); !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 150*time.Millisecond {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
}

func TestRedisLimiterCostAboveMaxIsClamped(t *testing.T) {
	t.Parallel()
	rdb := newRedis(t)
	l := NewRedisLimiter(rdb, uniquePrefix(t, rdb))
	ctx := context.Background()
	l.Update(ctx, "s", ThrottleStatus{MaximumAvailable: 100, CurrentlyAvailable: 100, RestoreRate: 100})
	start := time.Now()
	if err := l.Wait(ctx, "s", 5000); err != nil || time.Since(start) > 200*time.Millisecond {
		t.Fatalf("err %v after %s", err, time.Since(start))
	}
}

// TestClientWithRedisLimiter runs the client against the shared limiter and
// checks the response's throttleStatus lands in Redis.
func TestClientWithRedisLimiter(t *testing.T) {
	t.Parallel()
	rdb := newRedis(t)
	l := NewRedisLimiter(rdb, uniquePrefix(t, rdb))
	var onErr []error
	l.OnError = func(err error) { onErr = append(onErr, err) }
	f := newFakeShopify(t, reply{body: `{"data":{"shop":{"name":"Acme"}},"extensions":{"cost":{"requestedQueryCost":2,"actualQueryCost":1,"throttleStatus":{"maximumAvailable":2000.0,"currentlyAvailable":1234,"restoreRate":100.0}}}}`})
	c, _ := newTestClient(t, f, l, nil)
	if _, err := c.Shop(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := rdb.HGetAll(context.Background(), l.Key("acme.myshopify.com")).Val()
	if h["max"] != "2000" || h["restoreRate"] != "100" || math.Abs(parseF(h["available"])-1234) > 1 {
		t.Fatalf("state = %v", h)
	}
	if len(onErr) != 0 {
		t.Fatal(onErr)
	}
}

func parseF(s string) float64 {
	var f float64
	_, _ = fmt.Sscan(s, &f)
	return f
}
