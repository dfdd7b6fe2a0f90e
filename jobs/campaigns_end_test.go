package jobs

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/store"
	"github.com/coupontrail/coupontrail/app/store/storetest"
)

// Campaigns past ends_at end at the injected clock's time, with a sync of
// the new rules version enqueued; a second run changes nothing.
func TestEndDueCampaignsEndsPastCampaignsOnce(t *testing.T) {
	st, _ := storetest.New(t)
	ropt, err := RedisOpt(storetest.RedisDB(t))
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(ropt)
	defer client.Close()
	insp := asynq.NewInspector(ropt)
	defer insp.Close()
	ctx := context.Background()
	t0 := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	sh, err := st.InstallShop(ctx, "enddue.myshopify.com", store.ShopTokens{AccessTokenEnc: "x", TokenKind: "offline"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name, status string, ends *time.Time) *store.Campaign {
		c := &store.Campaign{ShopID: sh.ID, Name: name, Goal: "acquisition", Status: status,
			Discount: json.RawMessage(`{"type":"percentage","value":10}`), CodeFormat: json.RawMessage(`{"length":8}`),
			Usage: json.RawMessage(`{}`), Rules: json.RawMessage(`{}`), StartsAt: t0.Add(-time.Hour), EndsAt: ends, Salt: "s",
			SyncStatus: store.SyncSynced, RulesVersion: 3, CreatedAt: t0, UpdatedAt: t0}
		if err := st.CreateCampaign(ctx, c, strings.ToUpper(name)+"23456789"); err != nil {
			t.Fatal(err)
		}
		return c
	}
	at := func(d time.Duration) *time.Time { v := t0.Add(d); return &v }
	past := mk("pastactive", "active", at(time.Hour))
	pausedPast := mk("pastpaused", "paused", at(30*time.Minute))
	future := mk("future", "active", at(2*time.Hour))
	open := mk("open", "active", nil)
	draft := mk("draft", "draft", at(time.Minute))

	clock := t0.Add(90 * time.Minute)
	j := New(Deps{Store: st, Client: client, Log: slog.New(slog.DiscardHandler), Now: func() time.Time { return clock }})
	n, err := j.EndDueCampaigns(ctx)
	if err != nil || n != 2 {
		t.Fatalf("ended %d, %v; want 2", n, err)
	}
	want := map[int64]string{past.ID: "ended", pausedPast.ID: "ended", future.ID: "active", open.ID: "active", draft.ID: "draft"}
	for id, status := range want {
		c, err := st.CampaignByID(ctx, sh.ID, id)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != status {
			t.Fatalf("campaign %s is %s, want %s", c.Name, c.Status, status)
		}
		if status == "ended" && (c.RulesVersion != 4 || c.SyncStatus != store.SyncPending || !c.UpdatedAt.Equal(clock)) {
			t.Fatalf("ended campaign %s: version %d, sync %s, updated %s", c.Name, c.RulesVersion, c.SyncStatus, c.UpdatedAt)
		}
	}
	tasks, err := insp.ListPendingTasks(QueueDefault)
	if err != nil {
		t.Fatal(err)
	}
	synced := map[int64]int{}
	for _, tk := range tasks {
		var p CampaignSyncPayload
		if tk.Type == TypeCampaignSync && json.Unmarshal(tk.Payload, &p) == nil {
			synced[p.CampaignID] = p.Version
		}
	}
	if len(synced) != 2 || synced[past.ID] != 4 || synced[pausedPast.ID] != 4 {
		t.Fatalf("sync tasks = %v", synced)
	}
	// Idempotent: nothing more to end, no new task.
	if n, err := j.EndDueCampaigns(ctx); err != nil || n != 0 {
		t.Fatalf("second run ended %d, %v", n, err)
	}
	if tasks, _ := insp.ListPendingTasks(QueueDefault); len(tasks) != 2 {
		t.Fatalf("%d tasks after the second run", len(tasks))
	}
	// Later, the future campaign's turn.
	clock = t0.Add(3 * time.Hour)
	if n, err := j.EndDueCampaigns(ctx); err != nil || n != 1 {
		t.Fatalf("third run ended %d, %v", n, err)
	}
}
