// Package loadgen is what the open-loop load harnesses share: a warmed
// keep-alive client and a sender that starts each request when it is due,
// whether or not earlier ones have answered, so latency is measured from the
// due time (no coordinated omission).
package loadgen

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// Client returns a keep-alive client for base with 64 connections already
// open, as long-running callers have. With followRedirects false it returns
// 3xx answers as they are.
func Client(base string, followRedirects bool) *http.Client {
	tr := &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: time.Minute, DisableCompression: true}
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	if !followRedirects {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	var pre sync.WaitGroup
	for range 64 {
		pre.Add(1)
		go func() {
			defer pre.Done()
			if res, err := c.Get(base + "/healthz"); err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		}()
	}
	pre.Wait()
	return c
}

// OpenLoop runs do(i, due) for i in [0, total), each in its own goroutine,
// rate times a second. It returns when every call has returned, with the
// start of the schedule and the moment the last request was sent.
func OpenLoop(total, rate int, do func(i int, due time.Time)) (start, sendEnd time.Time) {
	interval := time.Second / time.Duration(rate)
	var wg sync.WaitGroup
	start = time.Now().Add(50 * time.Millisecond)
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			do(i, due)
		}()
	}
	sendEnd = time.Now()
	wg.Wait()
	return start, sendEnd
}
