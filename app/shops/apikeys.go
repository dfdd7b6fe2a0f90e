package shops

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
)

// APIKeyPrefix starts every API key, so callers and log scrubbers can tell
// a key from a session token.
const APIKeyPrefix = "ct_"

var keyEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// HashAPIKey is how keys are stored and looked up.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// CreateAPIKey makes a new key for the shop from 20 random bytes and stores
// only its hash; the plaintext is returned once.
func (s *Service) CreateAPIKey(ctx context.Context, shopID int64, name string, rnd io.Reader) (string, *store.APIKey, error) {
	var b [20]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return "", nil, fmt.Errorf("shops: api key entropy: %w", err)
	}
	key := APIKeyPrefix + strings.ToLower(keyEncoding.EncodeToString(b[:]))
	k := &store.APIKey{ShopID: shopID, Name: name, Prefix: key[:len(APIKeyPrefix)+6], KeyHash: HashAPIKey(key), CreatedAt: s.now()}
	if err := s.Store.CreateAPIKey(ctx, k); err != nil {
		return "", nil, err
	}
	_ = s.Store.Audit(ctx, &store.AuditEvent{ShopID: &shopID, ActorType: "system", Action: "api_key.created", Target: k.Prefix, CreatedAt: s.now()})
	return key, k, nil
}

// apiKeyTTL is how long a process trusts a resolved key before asking the
// database again. Server-to-server callers (the issue API at Black Friday
// rates) would otherwise cost three queries per request; revocation and
// uninstall therefore take effect on every replica within this time (at once
// on the replica that revoked).
const apiKeyTTL = 5 * time.Second

type cachedKey struct {
	shop  *store.Shop
	key   *store.APIKey
	until time.Time
}

// keyCache holds resolved keys by hash.
type keyCache struct {
	mu sync.Mutex
	m  map[string]cachedKey
}

func (c *keyCache) get(h string, now time.Time) (cachedKey, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[h]
	if !ok || now.After(e.until) {
		return cachedKey{}, false
	}
	return e, true
}

func (c *keyCache) put(h string, e cachedKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 10000 {
		c.m = map[string]cachedKey{}
	}
	c.m[h] = e
}

// ForgetAPIKeys drops every cached key of a shop (after a revocation).
func (s *Service) ForgetAPIKeys(shopID int64) {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	for h, e := range s.keys.m {
		if e.shop.ID == shopID {
			delete(s.keys.m, h)
		}
	}
}

// ResolveAPIKey returns the installed shop an active key belongs to.
func (s *Service) ResolveAPIKey(ctx context.Context, key string) (*store.Shop, *store.APIKey, error) {
	if !strings.HasPrefix(key, APIKeyPrefix) {
		return nil, nil, store.ErrNotFound
	}
	h := string(HashAPIKey(key))
	if e, ok := s.keys.get(h, s.now()); ok {
		return e.shop, e.key, nil
	}
	k, err := s.Store.APIKeyByHash(ctx, HashAPIKey(key))
	if err != nil {
		return nil, nil, err
	}
	sh, err := s.Store.ShopByID(ctx, k.ShopID)
	if err != nil {
		return nil, nil, err
	}
	if !sh.Installed() {
		return nil, nil, fmt.Errorf("%w: %s", ErrNotInstalled, sh.Domain)
	}
	_ = s.Store.TouchAPIKey(ctx, k.ID, s.now())
	s.keys.put(h, cachedKey{shop: sh, key: k, until: s.now().Add(apiKeyTTL)})
	return sh, k, nil
}
