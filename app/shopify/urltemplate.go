package shopify

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	goshopify "github.com/bold-commerce/go-shopify/v4"
)

// DefaultAdminURLTemplate is the production SHOPIFY_ADMIN_URL_TEMPLATE: the shop's own origin.
const DefaultAdminURLTemplate = "https://{shop}"

// DevStoreAdminURLTemplate is SHOPIFY_ADMIN_URL_TEMPLATE for the local dev store stand-in.
const DevStoreAdminURLTemplate = "http://127.0.0.1:8081/store/{shop}"

// AdminBase returns the base URL for shop's Admin and OAuth endpoints: template with every "{shop}" replaced by
// shop and no trailing slash. An empty template means DefaultAdminURLTemplate. Callers must pass a validated shop
// (ValidShopDomain); AdminBase does no validation so it can stay a plain string function.
func AdminBase(template, shop string) string {
	if template == "" {
		template = DefaultAdminURLTemplate
	}
	return strings.TrimRight(strings.ReplaceAll(template, "{shop}", shop), "/")
}

// AdminURLFunc returns AdminBase bound to template, the shape TokenClient.AdminURL wants.
func AdminURLFunc(template string) func(shop string) string {
	return func(shop string) string { return AdminBase(template, shop) }
}

// RewriteTransport is an http.RoundTripper that sends requests addressed to https://{shop}/... (as go-shopify builds
// them), where shop is a valid myshopify.com domain, to AdminBase(Template, shop) + path instead, keeping the query.
// Other requests pass through untouched. With the default template it is a pass-through.
type RewriteTransport struct {
	// Template is SHOPIFY_ADMIN_URL_TEMPLATE; empty means DefaultAdminURLTemplate.
	Template string
	// Base does the actual round trip; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper. It never mutates req.
func (t *RewriteTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	target, ok, err := rewriteURL(t.Template, req.URL)
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // RoundTrip must close the body, even on errors
		}
		return nil, err
	}
	if !ok {
		return base.RoundTrip(req)
	}
	r2 := req.Clone(req.Context())
	r2.URL = target
	r2.Host = "" // derive Host from the new URL
	return base.RoundTrip(r2)
}

// rewriteURL maps https://{shop}/p?q to AdminBase(template, shop)/p?q. ok is false when u is not a shop URL or the
// template is the identity.
func rewriteURL(template string, u *url.URL) (*url.URL, bool, error) {
	if template == "" || template == DefaultAdminURLTemplate {
		return nil, false, nil
	}
	if u == nil || u.Scheme != "https" || u.Port() != "" || !ValidShopDomain(u.Host) {
		return nil, false, nil
	}
	b, err := url.Parse(AdminBase(template, strings.ToLower(u.Host)))
	if err != nil || b.Scheme == "" || b.Host == "" {
		return nil, false, errors.New("shopify: SHOPIFY_ADMIN_URL_TEMPLATE does not give an absolute URL")
	}
	out := *u
	out.Scheme, out.Host, out.User = b.Scheme, b.Host, b.User
	out.Path = b.Path + u.Path
	if u.RawPath != "" || b.RawPath != "" {
		out.RawPath = b.EscapedPath() + u.EscapedPath()
	}
	return &out, true, nil
}

// NewRewritingClient returns a copy of base (nil means a client with go-shopify's 10 s timeout) whose transport is
// wrapped in a RewriteTransport for template. Pass it to goshopify.WithHTTPClient, or as TokenClient.HTTP.
func NewRewritingClient(template string, base *http.Client) *http.Client {
	c := &http.Client{Timeout: defaultHTTPTimeout}
	if base != nil {
		cp := *base
		c = &cp
	}
	c.Transport = &RewriteTransport{Template: template, Base: c.Transport}
	return c
}

// NewAdminClient builds a go-shopify client for shop that talks to AdminBase(template, shop). The shop must pass
// ValidShopDomain. opts are applied before the rewriting HTTP client; callers should always include
// goshopify.WithVersion. The returned client is not goroutine-safe (go-shopify mutates RateLimits per call).
func NewAdminClient(app goshopify.App, template, shop, token string, base *http.Client, opts ...goshopify.Option) (*goshopify.Client, error) {
	if !ValidShopDomain(shop) {
		return nil, ErrInvalidShop
	}
	opts = append(opts, goshopify.WithHTTPClient(NewRewritingClient(template, base)))
	return goshopify.NewClient(app, shop, token, opts...)
}

// AuthorizeURL returns go-shopify's App.AuthorizeUrl for shop and state with the host rewritten like
// RewriteTransport does, so the browser goes to the dev store when the template points there. An empty app.Scope
// drops the scope parameter (go-shopify always sends it), which is what Shopify wants when scopes come from
// shopify.app.toml. The shop must pass ValidShopDomain and state must be non-empty.
func AuthorizeURL(template string, app goshopify.App, shop, state string) (string, error) {
	if !ValidShopDomain(shop) {
		return "", ErrInvalidShop
	}
	if state == "" {
		return "", errors.New("shopify: AuthorizeURL: empty state")
	}
	raw, err := app.AuthorizeUrl(shop, state)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	if app.Scope == "" {
		q := u.Query()
		q.Del("scope")
		u.RawQuery = q.Encode()
	}
	if target, ok, err := rewriteURL(template, u); err != nil {
		return "", err
	} else if ok {
		u = target
	}
	return u.String(), nil
}
