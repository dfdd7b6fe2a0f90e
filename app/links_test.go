package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/coupontrail/coupontrail/app/store"
)

const (
	uaIPhone    = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	uaDesktop   = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	uaGooglebot = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

// click requests a SmartLink without following the redirect. It is safe
// to call from several goroutines.
func click(t *testing.T, base, slug string, hdr map[string]string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+"/l/"+slug, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil { // Error, not Fatal: click runs in goroutines too
		t.Error(err)
		return 0, "", ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusFound {
		return res.StatusCode, res.Header.Get("Location"), ""
	}
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

// landing splits a redirect Location into the code (if it is a discount
// link) and the landing URL the store lands the shopper on.
func landing(t *testing.T, storeBase, loc string) (code string, land *url.URL) {
	t.Helper()
	if !strings.HasPrefix(loc, storeBase) {
		t.Fatalf("location %q is not on the store %q", loc, storeBase)
	}
	rest := strings.TrimPrefix(loc, storeBase)
	if after, ok := strings.CutPrefix(rest, "/discount/"); ok {
		c, q, _ := strings.Cut(after, "?")
		vals, err := url.ParseQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		code, rest = c, vals.Get("redirect")
	}
	u, err := url.Parse(rest)
	if err != nil {
		t.Fatal(err)
	}
	return code, u
}

func TestSmartLinks(t *testing.T) {
	f := newIssueFixture(t, 0, 20, func(k *store.Campaign) {
		k.Name = "Spring Sale"
		k.Rules = []byte(`{"countries":["US","DE","RU"]}`)
	})
	ctx := context.Background()
	storeBase := f.devURL + "/store/" + f.shop

	var partner struct {
		ID string `json:"id"`
	}
	if code := f.api("POST", "/api/v1/partners", f.key, map[string]any{"name": "Ana Lopez", "kind": "influencer", "email": "ana@example.com",
		"commission": map[string]any{"percent": 10}}, &partner); code != 201 {
		t.Fatalf("partner: %d", code)
	}

	// Validation.
	for _, body := range []map[string]any{
		{"channel": "influencer"},
		{"campaign_id": idString(f.camp.ID), "destination": "https://evil.example/"},
		{"campaign_id": idString(f.camp.ID), "channel": "carrier-pigeon"},
		{"campaign_id": idString(f.camp.ID), "code_mode": "sometimes"},
		{"campaign_id": idString(f.camp.ID), "routing": map[string]any{"block_countries": []string{"Narnia"}}},
		{"campaign_id": "987654321"},
		{"partner_id": partner.ID, "code_mode": "issue"},
		{"campaign_id": idString(f.camp.ID), "code_mode": "vanity"}, // the campaign has no vanity code yet
	} {
		if code, text := f.rawCall("POST", "/api/v1/links", f.key, mustJSON(t, body)); code != 422 {
			t.Errorf("POST /links %v: %d %s, want 422", body, code, text)
		}
	}

	var link linkJSON
	if code := f.api("POST", "/api/v1/links", f.key, map[string]any{"partner_id": partner.ID, "campaign_id": idString(f.camp.ID),
		"channel": "influencer", "destination": "/products/hat", "utm": map[string]any{"content": "story"},
		"routing": map[string]any{"countries": map[string]string{"de": "/de/products/hat"}, "block_countries": []string{"RU"}}}, &link); code != 201 {
		t.Fatalf("create link: %d", code)
	}
	if link.URL != f.srv.URL+"/l/"+link.Slug || len(link.Slug) != 8 || link.CodeMode != "issue" || *link.PartnerID != partner.ID ||
		*link.CampaignID != idString(f.camp.ID) || link.Destination != "/products/hat" {
		t.Fatalf("link = %+v", link)
	}
	var got linkJSON
	if code := f.api("GET", "/api/v1/links/"+link.ID, f.key, nil, &got); code != 200 || got.Slug != link.Slug {
		t.Fatalf("get link: %d %+v", code, got)
	}
	var ls list[linkJSON]
	if code := f.api("GET", "/api/v1/links?partner_id="+partner.ID, f.key, nil, &ls); code != 200 || len(ls.Items) != 1 {
		t.Fatalf("list links: %d %+v", code, ls)
	}

	// A shopper on a phone in the US: a personal code, the click id and UTM tags.
	code, loc, _ := click(t, f.srv.URL, link.Slug, map[string]string{"User-Agent": uaIPhone, "CF-IPCountry": "US",
		"X-Forwarded-For": "203.0.113.7, 10.0.0.1", "Referer": "https://instagram.com/ana"})
	if code != 302 {
		t.Fatalf("mobile click: %d", code)
	}
	issued, land := landing(t, storeBase, loc)
	q := land.Query()
	if !strings.HasPrefix(issued, "BARE") || land.Path != "/products/hat" || !strings.HasPrefix(q.Get("ct_click"), "clk_") ||
		q.Get("utm_source") != "ana-lopez" || q.Get("utm_medium") != "influencer" || q.Get("utm_campaign") != "spring-sale" || q.Get("utm_content") != "story" {
		t.Fatalf("mobile redirect %q: code %q landing %v", loc, issued, land)
	}
	mobileClick := q.Get("ct_click")
	var kd codeDetailJSON
	if c := f.api("GET", "/api/v1/codes/"+issued, f.key, nil, &kd); c != 200 || kd.Status != "issued" || kd.Channel != "influencer" ||
		kd.PartnerID == nil || *kd.PartnerID != partner.ID {
		t.Fatalf("issued code: %d %+v", c, kd)
	}

	// Germany on a desktop: routed to the German page, another code.
	_, loc, _ = click(t, f.srv.URL, link.Slug, map[string]string{"User-Agent": uaDesktop, "X-Country-Code": "DE"})
	if c, land := landing(t, storeBase, loc); c == "" || c == issued || land.Path != "/de/products/hat" {
		t.Fatalf("DE redirect %q", loc)
	}

	// Googlebot: recorded as a bot, redirected without a code.
	_, loc, _ = click(t, f.srv.URL, link.Slug, map[string]string{"User-Agent": uaGooglebot, "CF-IPCountry": "US"})
	if c, land := landing(t, storeBase, loc); c != "" || land.Path != "/products/hat" || land.Query().Get("ct_click") == "" {
		t.Fatalf("bot redirect %q", loc)
	}

	// Blocked by the link (RU) and by the campaign's countries (BR): home, no code.
	for _, cc := range []string{"RU", "BR"} {
		_, loc, _ = click(t, f.srv.URL, link.Slug, map[string]string{"User-Agent": uaIPhone, "CF-IPCountry": cc})
		if c, land := landing(t, storeBase, loc); c != "" || land.Path != "/" {
			t.Fatalf("%s redirect %q", cc, loc)
		}
	}

	// Unknown slug: an HTML 404.
	if code, ctype, body := click(t, f.srv.URL, "zzzzzzzz", nil); code != 404 || !strings.HasPrefix(ctype, "text/html") || !strings.Contains(body, "not found") {
		t.Fatalf("unknown slug: %d %s %s", code, ctype, body)
	}

	// The clicks, newest first.
	var cs list[clickJSON]
	if c := f.api("GET", "/api/v1/clicks?link_id="+link.ID, f.key, nil, &cs); c != 200 || len(cs.Items) != 5 {
		t.Fatalf("clicks: %d %+v", c, cs)
	}
	byOutcome := map[string]int{}
	for _, k := range cs.Items {
		byOutcome[k.Outcome]++
		if k.LinkID != link.ID || k.PartnerID == nil || *k.PartnerID != partner.ID || k.Channel != "influencer" {
			t.Errorf("click %+v", k)
		}
	}
	if byOutcome["code"] != 2 || byOutcome["bot"] != 1 || byOutcome["blocked"] != 2 {
		t.Errorf("outcomes = %v", byOutcome)
	}
	m := cs.Items[len(cs.Items)-1]
	if m.ClickID != mobileClick || m.Device != "mobile" || m.IP != "203.0.113.7" || m.Country != "US" || m.IsBot || m.Code != issued ||
		m.Referrer != "https://instagram.com/ana" || m.UserAgent != uaIPhone {
		t.Errorf("mobile click = %+v", m)
	}
	bot := cs.Items[2]
	if !bot.IsBot || bot.Code != "" || bot.Outcome != "bot" {
		t.Errorf("bot click = %+v", bot)
	}
	if desk := cs.Items[3]; desk.Device != "desktop" || desk.Country != "DE" {
		t.Errorf("desktop click = %+v", desk)
	}
	var page list[clickJSON]
	if c := f.api("GET", "/api/v1/clicks?limit=2&partner_id="+partner.ID, f.key, nil, &page); c != 200 || len(page.Items) != 2 || page.NextCursor == "" {
		t.Fatalf("clicks page: %d %+v", c, page)
	}
	if c := f.api("GET", "/api/v1/clicks?limit=2&cursor="+page.NextCursor, f.key, nil, &page); c != 200 || len(page.Items) != 2 {
		t.Fatalf("clicks page 2: %d %+v", c, page)
	}
	if k, err := f.a.store.ClickByClickID(ctx, f.sh.ID, mobileClick); err != nil || k.Device != "mobile" || k.IsBot {
		t.Fatalf("click by click id: %+v %v", k, err)
	}

	// A vanity link: the partner's fixed code on every click.
	if err := f.a.store.InsertVanityCode(ctx, &store.Code{ShopID: f.sh.ID, CampaignID: f.camp.ID, Code: "ANA10", PartnerID: ptrInt64(mustID(t, partner.ID))}); err != nil {
		t.Fatal(err)
	}
	var vlink linkJSON
	if code := f.api("POST", "/api/v1/links", f.key, map[string]any{"partner_id": partner.ID, "campaign_id": idString(f.camp.ID),
		"code_mode": "vanity"}, &vlink); code != 201 || vlink.VanityCode != "ANA10" {
		t.Fatalf("vanity link: %d %+v", code, vlink)
	}
	_, loc, _ = click(t, f.srv.URL, vlink.Slug, map[string]string{"User-Agent": uaIPhone})
	if c, land := landing(t, storeBase, loc); c != "ANA10" || land.Path != "/" || land.Query().Get("utm_medium") != "smartlink" {
		t.Fatalf("vanity redirect %q", loc)
	}

	// Concurrent clicks all land (group commit), each with its own click id.
	var wg sync.WaitGroup
	locs := make([]string, 40)
	for i := range locs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, locs[i], _ = click(t, f.srv.URL, vlink.Slug, map[string]string{"User-Agent": uaDesktop})
		}()
	}
	wg.Wait()
	seenClick := map[string]bool{}
	for _, loc := range locs {
		_, land := landing(t, storeBase, loc)
		seenClick[land.Query().Get("ct_click")] = true
	}
	var vcs list[clickJSON]
	if c := f.api("GET", "/api/v1/clicks?limit=500&link_id="+vlink.ID, f.key, nil, &vcs); c != 200 || len(vcs.Items) != 41 || len(seenClick) != 40 {
		t.Fatalf("concurrent clicks: %d, %d rows, %d distinct click ids", c, len(vcs.Items), len(seenClick))
	}
	for _, k := range vcs.Items {
		if k.Code != "ANA10" || k.Outcome != "code" {
			t.Errorf("vanity click %+v", k)
		}
	}

	// Another shop sees none of it.
	other := "links-other.myshopify.com"
	f.createShop(other)
	tok := f.sessionToken(other)
	if code, _ := f.apiErr("GET", "/api/v1/links/"+link.ID, tok, nil, nil); code != 404 {
		t.Errorf("other shop read the link: %d", code)
	}
	var empty list[clickJSON]
	if code := f.api("GET", "/api/v1/clicks?link_id="+link.ID, tok, nil, &empty); code != 200 || len(empty.Items) != 0 {
		t.Errorf("other shop's clicks: %d %+v", code, empty)
	}
	var emptyLinks list[linkJSON]
	if code := f.api("GET", "/api/v1/links", tok, nil, &emptyLinks); code != 200 || len(emptyLinks.Items) != 0 {
		t.Errorf("other shop's links: %d %+v", code, emptyLinks)
	}
	if code, text := f.rawCall("POST", "/api/v1/links", tok, `{"campaign_id":"`+idString(f.camp.ID)+`"}`); code != 422 {
		t.Errorf("other shop linked to this shop's campaign: %d %s", code, text)
	}
}

func ptrInt64(v int64) *int64 { return &v }

func mustID(t *testing.T, s string) int64 {
	t.Helper()
	id, err := parseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func parseID(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCutHeader(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 10, "abc"},
		{"abcdef", 3, "abc"},
		{"aé", 2, "a"}, // é is two bytes: never cut inside it
		{"a\x00b\xffc", 10, "abc"},
	} {
		if got := cut(tt.in, tt.n); got != tt.want {
			t.Errorf("cut(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

// TestSmartLinkIssueFallback: a link that issues personal codes falls back
// to its vanity code when the pool is empty, and lands without a code when
// it has none; a paused campaign issues nothing.
func TestSmartLinkIssueFallback(t *testing.T) {
	f := newIssueFixture(t, 0, 0, nil) // an empty pool
	ctx := context.Background()
	storeBase := f.devURL + "/store/" + f.shop
	if err := f.a.store.InsertVanityCode(ctx, &store.Code{ShopID: f.sh.ID, CampaignID: f.camp.ID, Code: "SPRING5"}); err != nil {
		t.Fatal(err)
	}
	var withVanity, bare linkJSON
	if code := f.api("POST", "/api/v1/links", f.key, map[string]any{"campaign_id": idString(f.camp.ID), "code_mode": "issue",
		"vanity_code": "spring5", "channel": "email"}, &withVanity); code != 201 || withVanity.VanityCode != "SPRING5" || withVanity.CodeMode != "issue" {
		t.Fatalf("link with fallback: %d %+v", code, withVanity)
	}
	if code := f.api("POST", "/api/v1/links", f.key, map[string]any{"campaign_id": idString(f.camp.ID)}, &bare); code != 201 || bare.CodeMode != "issue" {
		t.Fatalf("bare link: %d %+v", code, bare)
	}
	_, loc, _ := click(t, f.srv.URL, withVanity.Slug, map[string]string{"User-Agent": uaIPhone})
	if c, _ := landing(t, storeBase, loc); c != "SPRING5" {
		t.Fatalf("fallback redirect %q", loc)
	}
	_, loc, _ = click(t, f.srv.URL, bare.Slug, map[string]string{"User-Agent": uaIPhone})
	if c, land := landing(t, storeBase, loc); c != "" || land.Query().Get("utm_source") != "coupontrail" || land.Query().Get("utm_medium") != "smartlink" {
		t.Fatalf("empty pool redirect %q", loc)
	}
	var cs list[clickJSON]
	if c := f.api("GET", "/api/v1/clicks?link_id="+bare.ID, f.key, nil, &cs); c != 200 || len(cs.Items) != 1 || cs.Items[0].Outcome != "pool_empty" {
		t.Fatalf("empty pool click: %d %+v", c, cs)
	}
}
