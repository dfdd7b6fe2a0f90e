package fraud

import "strings"

// botMarkers are lower-case substrings of user agents sent by automation:
// headless browsers and browser drivers, HTTP libraries and command-line
// clients, and self-declared crawlers. The list is deliberately compact —
// SmartLink clicks and checkouts from real shoppers come from real browsers,
// so the long tail of exotic crawlers that a full list (such as
// github.com/x-way/crawlerdetect) recognises adds little here, while every
// entry is a chance of a false positive.
var botMarkers = []string{
	"headlesschrome", "phantomjs", "selenium", "webdriver", "puppeteer", "playwright", "electron/",
	"python-requests", "python-urllib", "aiohttp", "httpx", "scrapy", "curl/", "wget/", "go-http-client",
	"java/", "okhttp", "apache-httpclient", "libwww-perl", "node-fetch", "axios/", "got (", "guzzle",
	"bot/", "bot;", "bot)", "crawler", "spider", "slurp", "facebookexternalhit", "preview", "lighthouse",
}

// notBots are substrings that contain a marker but belong to real devices.
var notBots = []string{"cubot"} // CUBOT Android phones

// IsBotUserAgent reports whether ua looks like automation rather than a
// person's browser. An empty user agent counts as automation: every browser
// sends one.
func IsBotUserAgent(ua string) bool {
	u := strings.ToLower(strings.TrimSpace(ua))
	if u == "" {
		return true
	}
	for _, nb := range notBots {
		u = strings.ReplaceAll(u, nb, "")
	}
	for _, m := range botMarkers {
		if strings.Contains(u, m) {
			return true
		}
	}
	return false
}
