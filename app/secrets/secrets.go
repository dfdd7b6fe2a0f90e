// Package secrets owns encryption of secrets at rest (Shopify access and refresh tokens): an AES-256-GCM keyring
// with key ids so the encryption key can be rotated without re-encrypting every row at once.
//
// It depends on the standard library only and must not import the store, Echo or Shopify packages. Errors never
// contain key material or plaintext.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// DefaultKeyID is the key id given to a key when ENCRYPTION_KEY holds one bare key. To rotate away from a bare key,
// rewrite the spec as "newkid:<new key>,default:<old key>".
const DefaultKeyID = "default"

// formatVersion prefixes every ciphertext so the envelope can change later without guessing.
const formatVersion = "v1"

// KeySize is the required key length in bytes (AES-256).
const KeySize = 32

var (
	// ErrInvalidKeyring reports an unusable ENCRYPTION_KEY spec.
	ErrInvalidKeyring = errors.New("secrets: invalid keyring spec")
	// ErrMalformed reports a ciphertext string that is not "v1:kid:base64(nonce|ciphertext)".
	ErrMalformed = errors.New("secrets: malformed ciphertext")
	// ErrUnknownKey reports a ciphertext sealed with a key id the keyring does not hold.
	ErrUnknownKey = errors.New("secrets: unknown key id")
	// ErrDecrypt reports a ciphertext that failed authentication: tampered, truncated or sealed with another key.
	ErrDecrypt = errors.New("secrets: decryption failed")
)

var kidRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Keyring holds the AES-256-GCM keys by id. The first key is current: Encrypt uses it, Decrypt accepts every key.
// A Keyring is immutable after ParseKeyring and safe for concurrent use.
type Keyring struct {
	current string
	order   []string
	aeads   map[string]cipher.AEAD
}

// ParseKeyring parses ENCRYPTION_KEY. The spec is either one 32-byte key in base64 (standard or URL alphabet,
// padded or not) or hex, which gets key id DefaultKeyID, or a comma-separated list "kid:key,kid:key,..." whose first
// entry is the current key. Key ids match [A-Za-z0-9_.-]{1,64} and must be unique.
func ParseKeyring(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidKeyring)
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	if !strings.Contains(spec, ":") {
		// base64 and hex never contain ':' so a colon-free spec is a single bare key.
		if strings.Contains(spec, ",") {
			return nil, fmt.Errorf("%w: a list needs kid:key entries", ErrInvalidKeyring)
		}
		if err := k.add(DefaultKeyID, spec); err != nil {
			return nil, err
		}
		return k, nil
	}
	for i, entry := range strings.Split(spec, ",") {
		entry = strings.TrimSpace(entry)
		kid, key, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("%w: entry %d is not kid:key", ErrInvalidKeyring, i)
		}
		if err := k.add(strings.TrimSpace(kid), strings.TrimSpace(key)); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
	}
	return k, nil
}

func (k *Keyring) add(kid, encoded string) error {
	if !kidRE.MatchString(kid) {
		// The kid is not secret, but it may be a mangled key, so keep it out of the message.
		return fmt.Errorf("%w: key id must match %s", ErrInvalidKeyring, kidRE)
	}
	if _, dup := k.aeads[kid]; dup {
		return fmt.Errorf("%w: duplicate key id %q", ErrInvalidKeyring, kid)
	}
	key, ok := decodeKey(encoded)
	if !ok {
		return fmt.Errorf("%w: key %q is not %d bytes of base64 or hex", ErrInvalidKeyring, kid, KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("%w: key %q: bad AES key", ErrInvalidKeyring, kid)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("%w: key %q: GCM setup failed", ErrInvalidKeyring, kid)
	}
	if k.current == "" {
		k.current = kid
	}
	k.order = append(k.order, kid)
	k.aeads[kid] = aead
	return nil
}

// decodeKey accepts hex (64 chars) first, then the four base64 variants, and only a result of KeySize bytes.
func decodeKey(s string) ([]byte, bool) {
	if len(s) == 2*KeySize {
		if b, err := hex.DecodeString(s); err == nil {
			return b, true
		}
	}
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if b, err := enc.Strict().DecodeString(s); err == nil && len(b) == KeySize {
			return b, true
		}
	}
	return nil, false
}

// CurrentKeyID returns the id of the key Encrypt uses.
func (k *Keyring) CurrentKeyID() string { return k.current }

// KeyIDs returns every key id in spec order, current first.
func (k *Keyring) KeyIDs() []string { return append([]string(nil), k.order...) }

// Encrypt seals plaintext with the current key: "v1:kid:base64(nonce|ciphertext)" (standard base64, padded).
func (k *Keyring) Encrypt(plaintext []byte) (string, error) {
	return k.EncryptAD(plaintext, nil)
}

// Decrypt opens a string produced by Encrypt with the key named in it, so values sealed with an older key still open
// while that key stays in the keyring.
func (k *Keyring) Decrypt(s string) ([]byte, error) {
	return k.DecryptAD(s, nil)
}

// EncryptAD is Encrypt with additional authenticated data, for example the shop domain, so a ciphertext copied to
// another shop's row fails to open. The same ad must be given to DecryptAD.
func (k *Keyring) EncryptAD(plaintext, ad []byte) (string, error) {
	if k == nil || k.current == "" {
		return "", errors.New("secrets: keyring not initialised; use ParseKeyring")
	}
	aead := k.aeads[k.current]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secrets: nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, plaintext, aadFor(k.current, ad))
	return formatVersion + ":" + k.current + ":" + base64.StdEncoding.EncodeToString(sealed), nil
}

// DecryptAD opens a string produced by EncryptAD with the same ad.
func (k *Keyring) DecryptAD(s string, ad []byte) ([]byte, error) {
	kid, raw, err := split(s)
	if err != nil {
		return nil, err
	}
	if k == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
	}
	aead, ok := k.aeads[kid]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, kid)
	}
	if len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, fmt.Errorf("%w: too short", ErrMalformed)
	}
	nonce, ct := raw[:aead.NonceSize()], raw[aead.NonceSize():]
	pt, err := aead.Open(nil, nonce, ct, aadFor(kid, ad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// KeyID returns the key id a ciphertext was sealed with, without decrypting it.
func KeyID(s string) (string, error) {
	kid, _, err := split(s)
	return kid, err
}

// NeedsRotation reports whether s was sealed with a key other than the current one (or cannot be parsed), so a
// background job can re-encrypt it.
func (k *Keyring) NeedsRotation(s string) bool {
	kid, err := KeyID(s)
	return err != nil || kid != k.current
}

func split(s string) (kid string, raw []byte, err error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 || parts[0] != formatVersion || !kidRE.MatchString(parts[1]) {
		return "", nil, ErrMalformed
	}
	raw, err = base64.StdEncoding.Strict().DecodeString(parts[2])
	if err != nil {
		return "", nil, fmt.Errorf("%w: bad base64", ErrMalformed)
	}
	return parts[1], raw, nil
}

// aadFor binds the envelope version and key id (and the caller's ad) into the GCM tag, so changing the kid in the
// string is detected as tampering rather than producing a confusing error.
func aadFor(kid string, ad []byte) []byte {
	out := make([]byte, 0, len(formatVersion)+len(kid)+2+len(ad))
	out = append(out, formatVersion...)
	out = append(out, ':')
	out = append(out, kid...)
	out = append(out, ':')
	return append(out, ad...)
}
