package devstore

import "strings"

// ConfigFromEnv reads the dev store's settings from the same environment as the app (PRODUCT.md §10):
// SHOPIFY_API_KEY, SHOPIFY_API_SECRET, APP_URL, SHOPIFY_SCOPES, plus DEVSTORE_ADDR (default DefaultAddr) and
// DEVSTORE_BASE_URL (default http://{DEVSTORE_ADDR}). It returns the listen address and the Config for Run.
func ConfigFromEnv(getenv func(string) string) (addr string, cfg Config) {
	addr = getenv("DEVSTORE_ADDR")
	if addr == "" {
		addr = DefaultAddr
	}
	base := getenv("DEVSTORE_BASE_URL")
	if base == "" {
		base = "http://" + addr
	}
	return addr, Config{
		APIKey:    getenv("SHOPIFY_API_KEY"),
		APISecret: getenv("SHOPIFY_API_SECRET"),
		AppURL:    strings.TrimRight(getenv("APP_URL"), "/"),
		BaseURL:   base,
		Scopes:    getenv("SHOPIFY_SCOPES"),
	}
}
