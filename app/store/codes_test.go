package store_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

// codeFixture is a shop with one campaign and one batch.
func codeFixture(t *testing.T) (*store.Store, *store.CodeBatch) {
	t.Helper()
	ctx := context.Background()
	st, dsn := storetest.New(t)
	sh, err := st.InstallShop(ctx, "codes-store.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, time.Now().UTC())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var camp int64
	if err := conn.QueryRow(ctx, `INSERT INTO campaigns (shop_id, name, goal, discount, code_format, usage, starts_at, salt)
		VALUES ($1, 'c', 'acquisition', '{}', '{}', '{}', now(), 's') RETURNING id`, sh.ID).Scan(&camp); err != nil {
		t.Fatal(err)
	}
	b := &store.CodeBatch{ShopID: sh.ID, CampaignID: camp, Requested: 300, Channel: "sms"}
	if err := st.CreateCodeBatch(ctx, b, nil); err != nil {
		t.Fatal(err)
	}
	return st, b
}

func codeList(prefix string, from, to int) [][]byte {
	var out [][]byte
	for i := from; i < to; i++ {
		out = append(out, fmt.Appendf(nil, "%s%05d", prefix, i))
	}
	return out
}

func TestInsertBatchCodesSkipsExistingAndCountsFromTheDatabase(t *testing.T) {
	st, b := codeFixture(t)
	ctx := context.Background()
	n, err := st.InsertBatchCodes(ctx, b, codeList("A", 0, 200))
	if err != nil || n != 200 {
		t.Fatalf("first insert: %d %v", n, err)
	}
	// 100 of these exist already: ON CONFLICT skips them.
	if n, err = st.InsertBatchCodes(ctx, b, codeList("A", 100, 300)); err != nil || n != 100 {
		t.Fatalf("overlapping insert: %d %v", n, err)
	}
	got, err := st.SyncBatchGenerated(ctx, b.ID)
	if err != nil || got != 300 {
		t.Fatalf("generated = %d %v, want 300", got, err)
	}
	// The check sees the shop's codes plus what queued batches will add.
	var seen int64
	b2 := &store.CodeBatch{ShopID: b.ShopID, CampaignID: b.CampaignID, Requested: 50}
	if err := st.CreateCodeBatch(ctx, b2, func(existing int64) error { seen = existing; return nil }); err != nil {
		t.Fatal(err)
	}
	// b itself is queued with generated == requested: nothing planned.
	if seen != 300 {
		t.Fatalf("check saw %d existing, want 300", seen)
	}
	refuse := errors.New("no")
	if err := st.CreateCodeBatch(ctx, &store.CodeBatch{ShopID: b.ShopID, CampaignID: b.CampaignID, Requested: 1},
		func(existing int64) error {
			if existing != 350 {
				t.Errorf("second check saw %d, want 350 (300 codes + 50 planned)", existing)
			}
			return refuse
		}); !errors.Is(err, refuse) {
		t.Fatalf("refused create: %v", err)
	}
}

func TestCodePushClaimAndFinishAreExactlyOnce(t *testing.T) {
	st, b := codeFixture(t)
	ctx := context.Background()
	if _, err := st.InsertBatchCodes(ctx, b, codeList("P", 0, 300)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SetCodeBatchStatus(ctx, b.ID, nil, store.BatchPushing, ""); err != nil {
		t.Fatal(err)
	}
	p1, cs1, err := st.ClaimCodePush(ctx, b, 0, 250)
	if err != nil || len(cs1) != 250 || p1.CodesCount != 250 {
		t.Fatalf("claim 1: %d %v", len(cs1), err)
	}
	p2, cs2, err := st.ClaimCodePush(ctx, b, 0, 250)
	if err != nil || len(cs2) != 50 {
		t.Fatalf("claim 2: %d %v", len(cs2), err)
	}
	if _, _, err := st.ClaimCodePush(ctx, b, 0, 250); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claim 3: %v, want ErrNotFound", err)
	}
	// Both are open (as after a crash) until finished.
	open, err := st.OpenCodePushes(ctx, b)
	if err != nil || len(open) != 2 || open[0].Status != store.PushSending {
		t.Fatalf("open pushes: %+v %v", open, err)
	}
	if err := st.SetPushRunning(ctx, p1.ID, "gid://shopify/DiscountRedeemCodeBulkCreation/1"); err != nil {
		t.Fatal(err)
	}
	outs := make([]store.PushOutcome, 0, 250)
	for i, c := range cs1 {
		switch {
		case i < 240:
			outs = append(outs, store.PushOutcome{CodeID: c.ID, State: store.CodeStateLive, ShopifyCodeID: fmt.Sprintf("gid://shopify/DiscountRedeemCode/%d", i)})
		case i < 245:
			outs = append(outs, store.PushOutcome{CodeID: c.ID, State: store.CodeStateFailed, Error: "is too long"})
		}
		// the last 5 are not mentioned: back to pending
	}
	tally, err := st.FinishCodePush(ctx, b.ID, p1.ID, outs, "")
	if err != nil || tally != (store.PushTally{Live: 240, Failed: 5, Retry: 5}) {
		t.Fatalf("finish: %+v %v", tally, err)
	}
	// Finishing the same push again changes nothing.
	if tally, err = st.FinishCodePush(ctx, b.ID, p1.ID, outs, ""); err != nil || tally != (store.PushTally{}) {
		t.Fatalf("second finish: %+v %v", tally, err)
	}
	got, err := st.CodeBatch(ctx, b.ID)
	if err != nil || got.Pushed != 240 || got.Failed != 5 {
		t.Fatalf("batch counters: %+v %v", got, err)
	}
	if pc, _ := st.PushableCodesCount(ctx, b.CampaignID); pc != 55 {
		t.Fatalf("pushable = %d, want 50 pushing + 5 pending", pc)
	}
	if done, err := st.FinishCodeBatchPush(ctx, b); err != nil || done {
		t.Fatalf("batch done with codes in flight: %v %v", done, err)
	}
	// The 5 unmentioned codes are claimable again, with p2's 50 still held.
	p3, cs3, err := st.ClaimCodePush(ctx, b, 0, 250)
	if err != nil || len(cs3) != 5 {
		t.Fatalf("re-claim: %d %v", len(cs3), err)
	}
	for _, p := range []struct {
		id int64
		cs []store.PushCode
	}{{p2.ID, cs2}, {p3.ID, cs3}} {
		outs := make([]store.PushOutcome, len(p.cs))
		for i, c := range p.cs {
			outs[i] = store.PushOutcome{CodeID: c.ID, State: store.CodeStateLive}
		}
		if _, err := st.FinishCodePush(ctx, b.ID, p.id, outs, ""); err != nil {
			t.Fatal(err)
		}
	}
	if done, err := st.FinishCodeBatchPush(ctx, b); err != nil || !done {
		t.Fatalf("batch not done: %v %v", done, err)
	}
	if got, _ := st.CodeBatch(ctx, b.ID); got.Pushed != 295 || got.Failed != 5 || got.Status != store.BatchDone {
		t.Fatalf("final batch: %+v", got)
	}
}

func TestTryLockCodeBatchIsExclusive(t *testing.T) {
	st, b := codeFixture(t)
	ctx := context.Background()
	unlock, ok, err := st.TryLockCodeBatch(ctx, b.ID)
	if err != nil || !ok {
		t.Fatalf("first lock: %v %v", ok, err)
	}
	if _, ok, err := st.TryLockCodeBatch(ctx, b.ID); err != nil || ok {
		t.Fatalf("second lock taken: %v %v", ok, err)
	}
	unlock()
	unlock2, ok, err := st.TryLockCodeBatch(ctx, b.ID)
	if err != nil || !ok {
		t.Fatalf("lock after unlock: %v %v", ok, err)
	}
	unlock2()
}
