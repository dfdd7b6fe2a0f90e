package smartlink

import (
	"fmt"
	"io"
)

// alphabet is lower-case Crockford base32 (no i, l, o, u): URL-safe, and
// hard to misread when a link is typed from a screen.
const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// SlugLen is the length of a new slug: 40 random bits, enough that slugs
// cannot be enumerated by walking the space.
const SlugLen = 8

// ClickIDPrefix starts every click id; the rest is 16 base32 characters (80
// random bits).
const ClickIDPrefix = "clk_"

// randomString draws n characters of alphabet from r (5 bits per byte, no
// modulo bias because 256 is a multiple of 32).
func randomString(r io.Reader, n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("smartlink: random: %w", err)
	}
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b), nil
}

// NewSlug returns a fresh random slug of SlugLen characters. Uniqueness is
// the database's job (links.slug is UNIQUE); callers retry on conflict.
func NewSlug(r io.Reader) (string, error) { return randomString(r, SlugLen) }

// NewClickID returns a fresh click id: "clk_" + 16 base32 characters.
func NewClickID(r io.Reader) (string, error) {
	s, err := randomString(r, 16)
	if err != nil {
		return "", err
	}
	return ClickIDPrefix + s, nil
}

// ValidSlug reports whether s could be a slug (4-32 characters of the
// alphabet plus the letters it leaves out, lower case). The click path uses
// it to answer junk with 404 without touching the database.
func ValidSlug(s string) bool {
	if len(s) < 4 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}

// ValidClickID reports whether s has the shape NewClickID produces.
func ValidClickID(s string) bool {
	if len(s) != len(ClickIDPrefix)+16 || s[:len(ClickIDPrefix)] != ClickIDPrefix {
		return false
	}
	return ValidSlug(s[len(ClickIDPrefix):])
}
