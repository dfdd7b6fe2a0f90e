package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store"
)

// storefront stands in for the shop's online store around the theme app
// embed: it serves pages that include the embed's config and script, the
// Ajax cart (/cart.js) and the app proxy (/apps/coupontrail/*), which it
// signs like Shopify and forwards to the app's /proxy/*.
type storefront struct {
	*httptest.Server
	cart atomic.Int64 // /cart.js total_price, minor units
}

var pageConfigs = map[string]string{
	"exit":   `{"proxy":"/apps/coupontrail","campaign":"","exitIntent":true,"scrollDepth":0,"cartValue":false,"cartMinimum":5000,"heading":"Wait!","message":"Your code:","button":"Apply","accent":"#1f5199","redirect":"/cart"}`,
	"scroll": `{"proxy":"/apps/coupontrail","campaign":"","exitIntent":false,"scrollDepth":60,"cartValue":false,"cartMinimum":5000,"heading":"Wait!","message":"Your code:","button":"Apply","accent":"#1f5199","redirect":"/cart"}`,
	"cart":   `{"proxy":"/apps/coupontrail","campaign":"","exitIntent":false,"scrollDepth":0,"cartValue":true,"cartMinimum":5000,"heading":"Wait!","message":"Your code:","button":"Apply","accent":"#1f5199","redirect":"/cart"}`,
	"quiet":  `{"proxy":"/apps/coupontrail","campaign":"","exitIntent":true,"scrollDepth":90,"cartValue":true,"cartMinimum":5000,"heading":"Wait!","message":"Your code:","button":"Apply","accent":"#1f5199","redirect":"/cart"}`,
}

// pageHarness is what the shopper "does" on each page once it loaded.
// Headless chromium under a virtual time budget does not always deliver the
// asynchronous scroll event of scrollTo, so the harness dispatches one after
// scrolling; the script still measures the real scroll position.
var pageHarness = map[string]string{
	"exit":   `document.dispatchEvent(new MouseEvent('mouseout', {clientY: -5, bubbles: true}));`,
	"scroll": `window.scrollTo(0, document.documentElement.scrollHeight); window.dispatchEvent(new Event('scroll'));`,
	"cart":   ``,
	// Not deep enough, no exit, the cart below the minimum.
	"quiet": `window.scrollTo(0, 200); window.dispatchEvent(new Event('scroll'));`,
}

func newStorefront(t *testing.T, f *cartFixture) *storefront {
	t.Helper()
	script, err := os.ReadFile(filepath.Join("..", "web", "extensions", "coupontrail-triggers", "assets", "triggers.js"))
	if err != nil {
		t.Fatal(err)
	}
	sf := &storefront{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /pages/{kind}", func(w http.ResponseWriter, r *http.Request) {
		kind := r.PathValue("kind")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Shop</title></head><body style="margin:0">
<main style="height:6000px">Products</main>
<script type="application/json" id="coupontrail-triggers-config">%s</script>
<script src="/assets/triggers.js" defer></script>
<script>window.addEventListener('load', function () { setTimeout(function () { %s }, 200); });</script>
</body></html>`, pageConfigs[kind], pageHarness[kind])
	})
	mux.HandleFunc("GET /assets/triggers.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(script)
	})
	mux.HandleFunc("GET /cart.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token":"c1","item_count":1,"total_price":%d,"currency":"USD"}`, sf.cart.Load())
	})
	mux.HandleFunc("GET /apps/coupontrail/{rest...}", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		q.Set("shop", f.shop)
		q.Set("logged_in_customer_id", "")
		res, err := http.Get(f.srv.URL + "/proxy/" + r.PathValue("rest") + "?" + proxySign(f.cfg.ShopifyAPISecret, q, f.clock.Now()))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
		w.WriteHeader(res.StatusCode)
		_, _ = io.Copy(w, res.Body)
	})
	sf.Server = httptest.NewServer(mux)
	t.Cleanup(sf.Close)
	return sf
}

// chromiumDOM loads url in headless chromium (scripts/chromium.sh installs
// it when missing) and returns the DOM after the page's scripts ran.
func chromiumDOM(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join("..", "scripts", "chromium.sh"), "--dump-dom", "--virtual-time-budget=8000", url)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return string(out)
}

var offerCode = regexp.MustCompile(`id="coupontrail-code"[^>]*>([A-Z0-9-]+)<`)

// TestStorefrontTriggersInChromium runs the theme app embed's script in a
// real browser: exit intent, scroll depth and cart value each fetch a
// personal code through the (signed) app proxy and show it with a link that
// applies it; a page where no trigger fires shows nothing and asks for
// nothing.
func TestStorefrontTriggersInChromium(t *testing.T) {
	if _, err := exec.Command(filepath.Join("..", "scripts", "chromium.sh"), "--path").Output(); err != nil {
		t.Fatalf("chromium is required for this test and could not be installed: %v", err)
	}
	f := newCartFixture(t, 0)
	sf := newStorefront(t, f)
	ctx := context.Background()
	seen := map[string]string{}
	for _, tc := range []struct {
		page, trigger string
		cart          int64
	}{
		{"exit", "exit_intent", 1200},
		{"scroll", "scroll_depth", 0},
		{"cart", "cart_value", 7500},
	} {
		sf.cart.Store(tc.cart)
		dom := chromiumDOM(t, sf.URL+"/pages/"+tc.page)
		m := offerCode.FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("%s: no code shown; DOM:\n%s", tc.page, dom)
		}
		code := m[1]
		if prev, dup := seen[code]; dup {
			t.Fatalf("%s showed the code of %s (each browser profile is a new visitor)", tc.page, prev)
		}
		seen[code] = tc.page
		if !strings.Contains(dom, "/discount/"+code+"?redirect=%2Fcart") {
			t.Fatalf("%s: no link applying %s; DOM:\n%s", tc.page, code, dom)
		}
		k, err := f.a.store.FindCode(ctx, f.sh.ID, code)
		if err != nil || k.Status != store.CodeIssued || k.CampaignID != f.camp.ID || k.ExpiresAt == nil {
			t.Fatalf("%s: code %s in the app: %+v %v", tc.page, code, k, err)
		}
		found := false
		tps, err := f.a.store.CartTouchpoints(ctx, f.sh.ID, f.camp.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, tp := range tps {
			if tp.Code != nil && *tp.Code == code && tp.Channel == store.CartChannelOnsite && tp.Trigger == tc.trigger && tp.VisitorID != nil {
				found = true
			}
		}
		if !found {
			t.Fatalf("%s: no onsite touchpoint with trigger %s for %s: %+v", tc.page, tc.trigger, code, tps)
		}
	}
	before, err := f.a.store.CartTouchpoints(ctx, f.sh.ID, f.camp.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	sf.cart.Store(1000)
	if dom := chromiumDOM(t, sf.URL+"/pages/quiet"); strings.Contains(dom, "coupontrail-offer") || !strings.Contains(dom, "Products") {
		t.Fatalf("quiet page showed an offer (or did not load):\n%s", dom)
	}
	after, _ := f.a.store.CartTouchpoints(ctx, f.sh.ID, f.camp.ID, 100)
	if len(after) != len(before) {
		t.Fatalf("quiet page asked for a code: %d -> %d touchpoints", len(before), len(after))
	}
}
