package outbound

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSignMatchesSpecAndVerifies(t *testing.T) {
	t.Parallel()
	secret := []byte("whsec_test")
	body := []byte(`{"id":"evt_1","type":"code.issued"}`)
	at := time.Unix(1767225600, 0)
	got := Sign(secret, at, body)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("1767225600." + string(body)))
	want := "t=1767225600,v1=" + hex.EncodeToString(m.Sum(nil))
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	cases := []struct {
		name   string
		header string
		body   []byte
		now    time.Time
		want   error
	}{
		{"valid", got, body, at.Add(time.Minute), nil},
		{"rotation: second v1 matches", "t=1767225600,v1=00ff," + strings.TrimPrefix(got, "t=1767225600,"), body, at, nil},
		{"tampered body", got, []byte(`{"id":"evt_2"}`), at, ErrBadSignature},
		{"other timestamp", strings.Replace(got, "t=1767225600", "t=1767225601", 1), body, at, ErrBadSignature},
		{"stale", got, body, at.Add(10 * time.Minute), ErrStale},
		{"no v1", "t=1767225600", body, at, ErrMalformed},
		{"garbage", "sha256=abc", body, at, ErrMalformed},
		{"bad hex", "t=1767225600,v1=zz", body, at, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Verify(secret, c.header, c.body, c.now, 5*time.Minute); !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
	if err := Verify([]byte("other"), got, body, at, 0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("wrong secret: %v", err)
	}
}

func TestBackoffSchedule(t *testing.T) {
	t.Parallel()
	want := []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	for i, w := range want {
		d, ok := Backoff(i + 1)
		if !ok || d != w {
			t.Errorf("Backoff(%d) = %v %v, want %v", i+1, d, ok, w)
		}
	}
	if _, ok := Backoff(MaxAttempts); ok {
		t.Errorf("Backoff(%d) allows another attempt; MaxAttempts is %d", MaxAttempts, MaxAttempts)
	}
	if MaxAttempts != 8 {
		t.Errorf("MaxAttempts = %d", MaxAttempts)
	}
}

func TestDelivered(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]bool{200: true, 204: true, 299: true, 301: false, 400: false, 500: false, 0: false} {
		if Delivered(status) != want {
			t.Errorf("Delivered(%d) = %v", status, !want)
		}
	}
}

func TestBodyIsDeterministic(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	a, err := Body("evt_1", CodeIssued, at, 7, []byte(`{"code":"X"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Body("evt_1", CodeIssued, at, 7, []byte(`{"code":"X"}`))
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings differ")
	}
	var env Envelope
	if err := json.Unmarshal(a, &env); err != nil || env.ID != "evt_1" || env.ShopID != "7" || string(env.Data) != `{"code":"X"}` || env.CreatedAt != "2026-11-24T12:00:00Z" {
		t.Fatalf("envelope %s: %v", a, err)
	}
}

func TestValidateURLAndTypes(t *testing.T) {
	t.Parallel()
	for u, ok := range map[string]bool{
		"https://hooks.example.com/x": true, "http://127.0.0.1:8080/h": true, "http://localhost/h": true,
		"http://example.com/h": false, "ftp://example.com": false, "https://user:pw@example.com": false, "/relative": false, "": false,
	} {
		if err := ValidateURL(u); (err == nil) != ok {
			t.Errorf("ValidateURL(%q) = %v", u, err)
		}
	}
	if err := ValidateTypes([]string{CodeIssued, CodeExpired}); err != nil {
		t.Error(err)
	}
	if err := ValidateTypes([]string{"code.nope"}); err == nil {
		t.Error("unknown type accepted")
	}
	if err := ValidateTypes([]string{CodeIssued, CodeIssued}); err == nil {
		t.Error("duplicate accepted")
	}
}

func TestSecretsAndIDs(t *testing.T) {
	t.Parallel()
	s, err := NewSecret(bytes.NewReader(make([]byte, 32)))
	if err != nil || s != SecretPrefix+strings.Repeat("00", 32) {
		t.Fatalf("NewSecret = %q %v", s, err)
	}
	if _, err := NewSecret(bytes.NewReader(nil)); err == nil {
		t.Fatal("short entropy accepted")
	}
	if string(SecretAD(12)) != "webhook_endpoint|12" {
		t.Fatal(string(SecretAD(12)))
	}
}
