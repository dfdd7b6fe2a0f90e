package jobs

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/coupontrail/coupontrail/app/codes"
	"github.com/coupontrail/coupontrail/app/store"
)

func TestCampaignCodeFormat(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, json string
		want       codes.Format
		bad        bool
	}{
		{"api shape", `{"prefix":"spr","length":8,"check_char":true}`, codes.Format{Prefix: "SPR", Length: 8, CheckChar: true}, false},
		{"default length", `{"prefix":"X"}`, codes.Format{Prefix: "X", Length: 10}, false},
		{"empty", ``, codes.Format{Length: 10}, false},
		{"too short", `{"length":2}`, codes.Format{}, true},
		{"not json", `[`, codes.Format{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := CampaignCodeFormat(&store.Campaign{ID: 1, CodeFormat: json.RawMessage(tc.json)})
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v, want error %v", err, tc.bad)
			}
			if !tc.bad && got != tc.want {
				t.Fatalf("format = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCodeTasks(t *testing.T) {
	t.Parallel()
	g, err := NewCodeGenerateTask(42)
	if err != nil {
		t.Fatal(err)
	}
	p, err := decodeBatchPayload(g)
	if err != nil || p.BatchID != 42 || g.Type() != TypeCodesGenerate {
		t.Fatalf("generate task: %+v %v", p, err)
	}
	push, _ := NewCodePushTask(42, 3)
	if p, err := decodeBatchPayload(push); err != nil || p.BatchID != 42 || p.Slice != 3 {
		t.Fatalf("push task: %+v %v", p, err)
	}
	if _, err := decodeBatchPayload(asynq.NewTask(TypeCodesPush, []byte(`{}`))); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("bad payload: %v, want SkipRetry", err)
	}
	found := false
	for _, e := range codePeriodic() {
		found = found || e.Task.Type() == TypeCodesSweep
	}
	if !found {
		t.Fatal("codes:sweep is not scheduled")
	}
}
