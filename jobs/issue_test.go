package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/outbound"
	"github.com/coupontrail/coupontrail/app/secrets"
	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

func testKeyring(t *testing.T) *secrets.Keyring {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	kr, err := secrets.ParseKeyring(hex.EncodeToString(b))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// TestOutboundDeliveryRetriesThenDeliversOnce: a receiver that answers 500
// once and then 200 gets a correctly signed event twice (same event id and
// bytes), the event ends delivered, and further sweeps send nothing.
func TestOutboundDeliveryRetriesThenDeliversOnce(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	sh, err := st.InstallShop(ctx, "outbound.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kr := testKeyring(t)
	secret, _ := outbound.NewSecret(rand.Reader)
	enc, _ := kr.EncryptAD([]byte(secret), outbound.SecretAD(sh.ID))

	var mu sync.Mutex
	var bodies [][]byte
	var sigErrs []error
	answers := []int{500, 200}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		sigErrs = append(sigErrs, outbound.Verify([]byte(secret), r.Header.Get(outbound.HeaderSignature), b, time.Now(), 0))
		bodies = append(bodies, b)
		status := 200
		if len(answers) > 0 {
			status, answers = answers[0], answers[1:]
		}
		w.WriteHeader(status)
	}))
	defer recv.Close()
	ep := &store.WebhookEndpoint{ShopID: sh.ID, URL: recv.URL + "/hook", SecretEnc: enc, Events: store.StringArray{outbound.CodeIssued}}
	if err := st.CreateWebhookEndpoint(ctx, ep); err != nil {
		t.Fatal(err)
	}
	// A second endpoint subscribed to other events gets nothing.
	if err := st.CreateWebhookEndpoint(ctx, &store.WebhookEndpoint{ShopID: sh.ID, URL: recv.URL + "/other", SecretEnc: enc,
		Events: store.StringArray{outbound.CodeExpired}}); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	err = st.InTx(ctx, func(ctx context.Context) error {
		ids, err = st.EmitEvent(ctx, sh.ID, outbound.CodeIssued, map[string]string{"code": "ABC123"})
		return err
	})
	if err != nil || len(ids) != 1 {
		t.Fatalf("emit: %v %v", ids, err)
	}
	clock := time.Now().UTC()
	j := New(Deps{Store: st, Keyring: kr, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return clock }})

	if err := j.DeliverOutbound(ctx, ids[0]); err != nil { // attempt 1: 500
		t.Fatal(err)
	}
	ev, _ := st.OutboundEventByID(ctx, ids[0])
	if ev.Status != store.OutboundPending || ev.Attempts != 1 || ev.LastStatus == nil || *ev.LastStatus != 500 ||
		ev.NextAttemptAt.Sub(clock) < 59*time.Second {
		t.Fatalf("after 500: %+v", ev)
	}
	// Not due yet: a sweep does nothing.
	if err := j.SweepOutbound(ctx); err != nil {
		t.Fatal(err)
	}
	if len(bodies) != 1 {
		t.Fatalf("swept before the backoff: %d requests", len(bodies))
	}
	clock = clock.Add(61 * time.Second)
	if err := j.SweepOutbound(ctx); err != nil { // attempt 2: 200
		t.Fatal(err)
	}
	for range 3 { // more sweeps and a stray task: nothing more is sent
		_ = j.SweepOutbound(ctx)
		_ = j.DeliverOutbound(ctx, ids[0])
		clock = clock.Add(time.Hour)
	}
	ev, _ = st.OutboundEventByID(ctx, ids[0])
	if ev.Status != store.OutboundDelivered || ev.Attempts != 2 || ev.DeliveredAt == nil {
		t.Fatalf("after retry: %+v", ev)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || string(bodies[0]) != string(bodies[1]) {
		t.Fatalf("receiver got %d requests: %q", len(bodies), bodies)
	}
	for _, e := range sigErrs {
		if e != nil {
			t.Fatalf("signature: %v", e)
		}
	}
	var env outbound.Envelope
	if err := json.Unmarshal(bodies[0], &env); err != nil || env.Type != outbound.CodeIssued || env.ID != ev.EventID || string(env.Data) != `{"code": "ABC123"}` && string(env.Data) != `{"code":"ABC123"}` {
		t.Fatalf("envelope %s: %v", bodies[0], err)
	}
}

// TestOutboundGivesUpAfterMaxAttempts: a receiver that always fails ends
// the event failed after outbound.MaxAttempts attempts.
func TestOutboundGivesUpAfterMaxAttempts(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	sh, _ := st.InstallShop(ctx, "outbound-fail.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, time.Now())
	kr := testKeyring(t)
	enc, _ := kr.EncryptAD([]byte("whsec_x"), outbound.SecretAD(sh.ID))
	n := 0
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n++; w.WriteHeader(503) }))
	defer recv.Close()
	_ = st.CreateWebhookEndpoint(ctx, &store.WebhookEndpoint{ShopID: sh.ID, URL: recv.URL, SecretEnc: enc})
	ids, err := st.EmitEvent(ctx, sh.ID, outbound.CodeExpired, map[string]any{})
	if err != nil || len(ids) != 1 {
		t.Fatal(ids, err)
	}
	clock := time.Now().UTC()
	j := New(Deps{Store: st, Keyring: kr, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return clock }})
	for range 20 {
		if err := j.SweepOutbound(ctx); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(25 * time.Hour)
	}
	ev, _ := st.OutboundEventByID(ctx, ids[0])
	if ev.Status != store.OutboundFailed || ev.Attempts != outbound.MaxAttempts || n != outbound.MaxAttempts {
		t.Fatalf("status %s attempts %d requests %d, want failed after %d", ev.Status, ev.Attempts, n, outbound.MaxAttempts)
	}
}

func TestRefillAmount(t *testing.T) {
	t.Parallel()
	cases := []struct {
		l    store.PoolLevel
		want int64
	}{
		{store.PoolLevel{Available: 100}, 0},                              // at the floor
		{store.PoolLevel{Available: 99}, 250},                             // 200-99 -> 250
		{store.PoolLevel{Available: 10, Incoming: 500}, 0},                // already on its way
		{store.PoolLevel{Available: 1000, IssuedLastHour: 600}, 1500},     // low 1200: 2400-1000=1400 -> 1500
		{store.PoolLevel{Available: 5000, IssuedLastHour: 2000}, 0},       // above low 4000
		{store.PoolLevel{Available: 0, IssuedLastHour: 100_000}, 400_000}, // busy campaign, empty pool
	}
	for _, c := range cases {
		if got := RefillAmount(c.l); got != c.want {
			t.Errorf("RefillAmount(%+v) = %d, want %d", c.l, got, c.want)
		}
	}
}

// TestCheckPoolsMeasuresActiveCampaigns: pool levels count live available
// codes, codes on their way and the last hour's issues, for active
// campaigns only.
func TestCheckPoolsMeasuresActiveCampaigns(t *testing.T) {
	st, _ := storetest.New(t)
	ctx := context.Background()
	now := time.Now().UTC()
	sh, _ := st.InstallShop(ctx, "pool.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, now)
	active := &store.Campaign{ShopID: sh.ID, Name: "A", Goal: "acquisition", Status: "active", StartsAt: now.Add(-time.Hour)}
	paused := &store.Campaign{ShopID: sh.ID, Name: "P", Goal: "acquisition", Status: "paused", StartsAt: now.Add(-time.Hour)}
	for _, c := range []*store.Campaign{active, paused} {
		if err := st.SeedCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	var codes []store.SeedLiveCode
	for _, c := range []string{"P1", "P2", "P3", "P4"} {
		codes = append(codes, store.SeedLiveCode{Code: c})
	}
	_ = st.SeedLiveCodes(ctx, sh.ID, active.ID, codes)
	if _, err := st.IssueCode(ctx, store.IssueParams{ShopID: sh.ID, CampaignID: active.ID, Now: now}); err != nil {
		t.Fatal(err)
	}
	levels, err := st.PoolLevels(ctx, now.Add(-time.Hour), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(levels) != 1 || levels[0].CampaignID != active.ID || levels[0].Available != 3 || levels[0].IssuedLastHour != 1 {
		t.Fatalf("levels: %+v", levels)
	}
	if RefillAmount(levels[0]) != 250 {
		t.Fatalf("refill for %+v = %d", levels[0], RefillAmount(levels[0]))
	}
	// pool:check asks the code-batch engine for one refill batch, once.
	ropt, err := RedisOpt(storetest.RedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(ropt)
	defer client.Close()
	j := New(Deps{Store: st, Client: client, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return now }})
	for range 2 {
		if err := j.CheckPools(ctx, 0); err != nil {
			t.Fatal(err)
		}
	}
	b, err := st.OpenRefillBatch(ctx, active.ID)
	if err != nil || b.Requested != 250 || b.Purpose != store.BatchPurposePoolRefill {
		t.Fatalf("refill batch: %+v %v", b, err)
	}
	if _, err := st.OpenRefillBatch(ctx, paused.ID); err == nil {
		t.Fatal("a paused campaign got a refill")
	}
}
