package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeySize) }

func b64(b byte) string { return base64.StdEncoding.EncodeToString(key(b)) }

func TestParseKeyring(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		spec    string
		wantKID string
		wantIDs []string
		wantErr bool
	}{
		{name: "bare base64", spec: b64(1), wantKID: DefaultKeyID, wantIDs: []string{DefaultKeyID}},
		{name: "bare raw url base64", spec: base64.RawURLEncoding.EncodeToString(key(0xfb)), wantKID: DefaultKeyID, wantIDs: []string{DefaultKeyID}},
		{name: "bare hex", spec: hex.EncodeToString(key(2)), wantKID: DefaultKeyID, wantIDs: []string{DefaultKeyID}},
		{name: "surrounding space", spec: "  " + b64(1) + "\n", wantKID: DefaultKeyID, wantIDs: []string{DefaultKeyID}},
		{name: "list", spec: "k2:" + b64(2) + ", k1:" + hex.EncodeToString(key(1)), wantKID: "k2", wantIDs: []string{"k2", "k1"}},
		{name: "empty", spec: "", wantErr: true},
		{name: "short key", spec: base64.StdEncoding.EncodeToString(key(1)[:16]), wantErr: true},
		{name: "long key", spec: base64.StdEncoding.EncodeToString(append(key(1), 1)), wantErr: true},
		{name: "not base64", spec: "!!!!", wantErr: true},
		{name: "duplicate kid", spec: "a:" + b64(1) + ",a:" + b64(2), wantErr: true},
		{name: "bad kid", spec: "a b:" + b64(1), wantErr: true},
		{name: "empty kid", spec: ":" + b64(1), wantErr: true},
		{name: "bare list without kids", spec: b64(1) + "," + b64(2), wantErr: true},
		{name: "entry without colon", spec: "a:" + b64(1) + "," + b64(2), wantErr: true},
		{name: "trailing comma", spec: "a:" + b64(1) + ",", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, err := ParseKeyring(tt.spec)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseKeyring(%q) = nil error, want error", tt.spec)
				}
				if !errors.Is(err, ErrInvalidKeyring) {
					t.Errorf("error %v does not wrap ErrInvalidKeyring", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseKeyring: %v", err)
			}
			if got := k.CurrentKeyID(); got != tt.wantKID {
				t.Errorf("CurrentKeyID = %q, want %q", got, tt.wantKID)
			}
			if got := strings.Join(k.KeyIDs(), ","); got != strings.Join(tt.wantIDs, ",") {
				t.Errorf("KeyIDs = %q, want %q", got, tt.wantIDs)
			}
		})
	}
}

func TestErrorsNeverContainKeyMaterial(t *testing.T) {
	t.Parallel()
	secretKey := base64.StdEncoding.EncodeToString(key(0x42)[:31]) // 31 bytes: rejected
	specs := []string{
		secretKey,
		"k1:" + secretKey,
		"k1:" + b64(1) + ",k1:" + secretKey,
		"k1:" + b64(1) + "," + secretKey,
		"bad kid:" + secretKey,
	}
	for _, spec := range specs {
		_, err := ParseKeyring(spec)
		if err == nil {
			t.Fatalf("ParseKeyring accepted %q", spec)
		}
		if strings.Contains(err.Error(), secretKey) || strings.Contains(err.Error(), secretKey[:8]) {
			t.Errorf("error leaks key material: %v", err)
		}
	}
	k, _ := ParseKeyring("k1:" + b64(7))
	s, _ := k.Encrypt([]byte("shpat_secret"))
	other, _ := ParseKeyring("k1:" + b64(8))
	_, err := other.Decrypt(s)
	if err == nil || strings.Contains(err.Error(), b64(7)) || strings.Contains(err.Error(), b64(8)) ||
		strings.Contains(err.Error(), "shpat") {
		t.Errorf("Decrypt error = %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	k, err := ParseKeyring(b64(9))
	if err != nil {
		t.Fatal(err)
	}
	for _, pt := range [][]byte{nil, []byte(""), []byte("shpat_abc"), bytes.Repeat([]byte{0}, 4096)} {
		s, err := k.Encrypt(pt)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(s, "v1:default:") {
			t.Errorf("ciphertext %q lacks v1:default: prefix", s)
		}
		got, err := k.Decrypt(s)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if !bytes.Equal(got, pt) {
			t.Errorf("Decrypt = %q, want %q", got, pt)
		}
		if k.NeedsRotation(s) {
			t.Errorf("NeedsRotation(%q) = true for current key", s)
		}
	}
	a, _ := k.Encrypt([]byte("same"))
	b, _ := k.Encrypt([]byte("same"))
	if a == b {
		t.Error("two encryptions of the same plaintext are identical; nonce reuse?")
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	oldRing, _ := ParseKeyring(b64(1)) // bare key: kid "default"
	oldCT, err := oldRing.Encrypt([]byte("old token"))
	if err != nil {
		t.Fatal(err)
	}
	newRing, err := ParseKeyring("k2:" + b64(2) + ",default:" + b64(1))
	if err != nil {
		t.Fatal(err)
	}
	got, err := newRing.Decrypt(oldCT)
	if err != nil || string(got) != "old token" {
		t.Fatalf("old ciphertext under rotated keyring: %q, %v", got, err)
	}
	if !newRing.NeedsRotation(oldCT) {
		t.Error("NeedsRotation(old) = false, want true")
	}
	newCT, _ := newRing.Encrypt([]byte("new token"))
	if kid, _ := KeyID(newCT); kid != "k2" {
		t.Errorf("new ciphertext kid = %q, want k2", kid)
	}
	if _, err := oldRing.Decrypt(newCT); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("old ring on new ciphertext: %v, want ErrUnknownKey", err)
	}
	// Dropping the old key after re-encryption makes old ciphertexts unreadable, loudly.
	dropped, _ := ParseKeyring("k2:" + b64(2))
	if _, err := dropped.Decrypt(oldCT); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("dropped ring on old ciphertext: %v, want ErrUnknownKey", err)
	}
}

func TestTamper(t *testing.T) {
	t.Parallel()
	k, _ := ParseKeyring("a:" + b64(1) + ",b:" + b64(1)) // same key bytes under two kids
	s, _ := k.Encrypt([]byte("shpat_token"))
	raw, _ := base64.StdEncoding.DecodeString(strings.SplitN(s, ":", 3)[2])

	flip := func(i int) string {
		c := append([]byte(nil), raw...)
		c[i] ^= 1
		return "v1:a:" + base64.StdEncoding.EncodeToString(c)
	}
	cases := map[string]struct {
		in   string
		want error
	}{
		"flip nonce":       {flip(0), ErrDecrypt},
		"flip ciphertext":  {flip(13), ErrDecrypt},
		"flip tag":         {flip(len(raw) - 1), ErrDecrypt},
		"truncate":         {"v1:a:" + base64.StdEncoding.EncodeToString(raw[:len(raw)-1]), ErrDecrypt},
		"too short":        {"v1:a:" + base64.StdEncoding.EncodeToString(raw[:10]), ErrMalformed},
		"swap kid":         {strings.Replace(s, "v1:a:", "v1:b:", 1), ErrDecrypt},
		"unknown kid":      {strings.Replace(s, "v1:a:", "v1:zz:", 1), ErrUnknownKey},
		"bad version":      {strings.Replace(s, "v1:", "v2:", 1), ErrMalformed},
		"bad base64":       {"v1:a:***", ErrMalformed},
		"extra field":      {s + ":x", ErrMalformed},
		"plaintext stored": {"shpat_token", ErrMalformed},
		"empty":            {"", ErrMalformed},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := k.Decrypt(tc.in); !errors.Is(err, tc.want) {
				t.Errorf("Decrypt(%q) error = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}

func TestAssociatedData(t *testing.T) {
	t.Parallel()
	k, _ := ParseKeyring(b64(3))
	s, _ := k.EncryptAD([]byte("tok"), []byte("a.myshopify.com"))
	if got, err := k.DecryptAD(s, []byte("a.myshopify.com")); err != nil || string(got) != "tok" {
		t.Fatalf("DecryptAD same ad = %q, %v", got, err)
	}
	if _, err := k.DecryptAD(s, []byte("b.myshopify.com")); !errors.Is(err, ErrDecrypt) {
		t.Errorf("DecryptAD other ad = %v, want ErrDecrypt", err)
	}
	if _, err := k.Decrypt(s); !errors.Is(err, ErrDecrypt) {
		t.Errorf("Decrypt without ad = %v, want ErrDecrypt", err)
	}
}

func TestZeroKeyring(t *testing.T) {
	t.Parallel()
	var k *Keyring
	if _, err := k.Encrypt([]byte("x")); err == nil {
		t.Error("nil keyring encrypted")
	}
	if _, err := (&Keyring{}).Encrypt([]byte("x")); err == nil {
		t.Error("zero keyring encrypted")
	}
	if _, err := k.Decrypt("v1:a:AAAA"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("nil keyring Decrypt = %v", err)
	}
}
