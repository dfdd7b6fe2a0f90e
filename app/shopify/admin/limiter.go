package admin

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limiter is a per-shop, cost-aware leaky bucket. Wait reserves cost points
// for shop and blocks until the bucket can pay for them (or ctx ends); Update
// replaces the bucket state with what Shopify reported in a response.
type Limiter interface {
	Wait(ctx context.Context, shop string, cost int) error
	Update(ctx context.Context, shop string, status ThrottleStatus)
}

// Default bucket parameters used until the first response tells us the real
// ones. Deliberately below the Standard plan (2000 max, 100/s) so a cold
// start never overshoots; the first Update corrects them.
const (
	DefaultMaxAvailable = 1000
	DefaultRestoreRate  = 50
)

// sleepCtx waits d or until ctx ends, whichever is first. If ctx has a
// deadline that d would outlast, it fails at once: waiting cannot succeed.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return fmt.Errorf("wait %s exceeds context deadline: %w", d, context.DeadlineExceeded)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// bucket is the shared leaky-bucket arithmetic, used by MemoryLimiter and
// mirrored by the Redis Lua script.
type bucket struct {
	available, restoreRate, max float64
	updatedAt                   time.Time
}

func (b *bucket) refill(now time.Time) {
	if el := now.Sub(b.updatedAt).Seconds(); el > 0 {
		b.available = math.Min(b.max, b.available+el*b.restoreRate)
	}
	b.updatedAt = now
}

// reserve takes cost (clamped to max, or it could never be paid) and returns
// how long the caller must wait for the debt to be restored. Reserving into
// debt queues callers fairly: each waits for its own share.
func (b *bucket) reserve(now time.Time, cost float64) time.Duration {
	b.refill(now)
	b.available -= math.Min(cost, b.max)
	if b.available >= 0 {
		return 0
	}
	return time.Duration(math.Ceil(-b.available / b.restoreRate * float64(time.Second)))
}

// MemoryLimiter is an in-process [Limiter] for tests and single-replica
// tools. It is safe for concurrent use.
type MemoryLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	now     func() time.Time
}

// NewMemoryLimiter returns an empty in-memory limiter.
func NewMemoryLimiter() *MemoryLimiter {
	return &MemoryLimiter{buckets: map[string]*bucket{}, now: time.Now}
}

func (l *MemoryLimiter) get(shop string, now time.Time) *bucket {
	b, ok := l.buckets[shop]
	if !ok {
		b = &bucket{available: DefaultMaxAvailable, restoreRate: DefaultRestoreRate, max: DefaultMaxAvailable, updatedAt: now}
		l.buckets[shop] = b
	}
	return b
}

// Wait implements [Limiter]. If ctx ends while waiting, the reservation is
// returned to the bucket.
func (l *MemoryLimiter) Wait(ctx context.Context, shop string, cost int) error {
	l.mu.Lock()
	now := l.now()
	b := l.get(shop, now)
	d := b.reserve(now, float64(cost))
	l.mu.Unlock()
	if err := sleepCtx(ctx, d); err != nil {
		l.mu.Lock()
		b.refill(l.now())
		b.available = math.Min(b.max, b.available+math.Min(float64(cost), b.max))
		l.mu.Unlock()
		return err
	}
	return nil
}

// Update implements [Limiter].
func (l *MemoryLimiter) Update(_ context.Context, shop string, s ThrottleStatus) {
	if s.MaximumAvailable <= 0 || s.RestoreRate <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.get(shop, now)
	b.available, b.restoreRate, b.max, b.updatedAt = s.CurrentlyAvailable, s.RestoreRate, s.MaximumAvailable, now
}

// Available returns the shop's current (refilled) budget; for tests.
func (l *MemoryLimiter) Available(shop string) float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b := l.get(shop, now)
	b.refill(now)
	return b.available
}

// limiterScript keeps one hash per shop: {available, restoreRate, max,
// updatedAt(ms)}. It uses Redis's clock (TIME) so replicas with skewed clocks
// agree. Modes:
//
//	reserve cost        -> refill, subtract cost (into debt), return wait ms
//	refund  cost        -> refill, give cost back (a cancelled waiter)
//	update  avail rate max -> Shopify's throttleStatus replaces the state
//
// It returns {wait_ms, tostring(available)}.
var limiterScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'available', 'restoreRate', 'max', 'updatedAt')
local max = tonumber(s[3]) or tonumber(ARGV[6])
local rate = tonumber(s[2]) or tonumber(ARGV[7])
local avail = tonumber(s[1]) or max
local ts = tonumber(s[4]) or now
if now > ts then
  avail = math.min(max, avail + (now - ts) * rate / 1000)
end
local wait = 0
local mode = ARGV[1]
if mode == 'reserve' then
  avail = avail - math.min(tonumber(ARGV[2]), max)
  if avail < 0 then
    wait = math.ceil(-avail * 1000 / rate)
  end
elseif mode == 'refund' then
  avail = math.min(max, avail + math.min(tonumber(ARGV[2]), max))
elseif mode == 'update' then
  avail = tonumber(ARGV[2])
  rate = tonumber(ARGV[3])
  max = tonumber(ARGV[4])
else
  return redis.error_reply('unknown mode ' .. tostring(mode))
end
redis.call('HSET', KEYS[1], 'available', tostring(avail), 'restoreRate', tostring(rate), 'max', tostring(max), 'updatedAt', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {wait, tostring(avail)}
`)

// RedisLimiter is a [Limiter] whose per-shop bucket lives in Redis, so every
// replica and asynq worker shares one budget per shop. Safe for concurrent use.
type RedisLimiter struct {
	rdb    redis.Scripter
	prefix string
	// TTL drops the state of idle shops; the next call starts from the
	// defaults. Defaults to 10 minutes.
	TTL time.Duration
	// DefaultMax and DefaultRestoreRate seed a shop with no state yet.
	DefaultMax, DefaultRestoreRate float64
	// OnError, if set, receives Update failures (Update cannot return them).
	OnError func(error)
}

// NewRedisLimiter returns a limiter storing bucket state under
// "{prefix}:{shop}". rdb is typically a *redis.Client.
func NewRedisLimiter(rdb redis.Scripter, prefix string) *RedisLimiter {
	return &RedisLimiter{
		rdb: rdb, prefix: prefix, TTL: 10 * time.Minute,
		DefaultMax: DefaultMaxAvailable, DefaultRestoreRate: DefaultRestoreRate,
	}
}

// Key returns the Redis key holding shop's bucket.
func (l *RedisLimiter) Key(shop string) string { return l.prefix + ":" + shop }

func (l *RedisLimiter) run(ctx context.Context, shop, mode string, a, b, c float64) (time.Duration, float64, error) {
	res, err := limiterScript.Run(ctx, l.rdb, []string{l.Key(shop)},
		mode, fmtF(a), fmtF(b), fmtF(c), l.TTL.Milliseconds(), fmtF(l.DefaultMax), fmtF(l.DefaultRestoreRate)).Slice()
	if err != nil {
		return 0, 0, err
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("limiter script: unexpected reply %v", res)
	}
	ms, _ := res[0].(int64)
	avStr, _ := res[1].(string)
	av, _ := strconv.ParseFloat(avStr, 64)
	return time.Duration(ms) * time.Millisecond, av, nil
}

func fmtF(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// Wait implements [Limiter]: it reserves cost in Redis, then sleeps
// (cost − available)/restoreRate honouring ctx. A cancelled waiter refunds
// its reservation so it does not starve the others.
func (l *RedisLimiter) Wait(ctx context.Context, shop string, cost int) error {
	d, _, err := l.run(ctx, shop, "reserve", float64(cost), 0, 0)
	if err != nil {
		return fmt.Errorf("admin: redis limiter reserve %s: %w", shop, err)
	}
	if err := sleepCtx(ctx, d); err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if _, _, rerr := l.run(rctx, shop, "refund", float64(cost), 0, 0); rerr != nil && l.OnError != nil {
			l.OnError(fmt.Errorf("admin: redis limiter refund %s: %w", shop, rerr))
		}
		return err
	}
	return nil
}

// Update implements [Limiter]: Shopify's throttleStatus is authoritative and
// replaces the stored state (it already reflects the real, refunded cost of
// completed queries).
func (l *RedisLimiter) Update(ctx context.Context, shop string, s ThrottleStatus) {
	if s.MaximumAvailable <= 0 || s.RestoreRate <= 0 {
		return
	}
	if _, _, err := l.run(ctx, shop, "update", s.CurrentlyAvailable, s.RestoreRate, s.MaximumAvailable); err != nil && l.OnError != nil {
		l.OnError(fmt.Errorf("admin: redis limiter update %s: %w", shop, err))
	}
}

// Available returns shop's current budget as stored in Redis (refilled to
// now); for tests and diagnostics.
func (l *RedisLimiter) Available(ctx context.Context, shop string) (float64, error) {
	_, av, err := l.run(ctx, shop, "refund", 0, 0, 0)
	return av, err
}
