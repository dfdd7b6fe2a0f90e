package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/coupontrail/coupontrail/app/store/storetest"
)

func TestBadDatabaseURLExitsTwoNamingIt(t *testing.T) {
	t.Setenv("DATABASE_URL", "nonsense")
	t.Setenv("ENCRYPTION_KEY", testKey())
	var out, errb bytes.Buffer
	code := run([]string{"serve"}, &out, &errb)
	if code != 2 {
		t.Fatalf("exit = %d, want 2 (stderr %q)", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "DATABASE_URL") {
		t.Fatalf("stderr = %q, want one line naming DATABASE_URL", errb.String())
	}
}

func TestHelpEverywhere(t *testing.T) {
	for _, c := range commands() {
		var out, errb bytes.Buffer
		if code := run([]string{c.name, "--help"}, &out, &errb); code != 0 {
			t.Errorf("%s --help exit %d", c.name, code)
		}
		if !strings.Contains(errb.String(), "Usage: coupontrail "+c.name) {
			t.Errorf("%s --help printed %q", c.name, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"nope"}, &out, &errb); code != 2 {
		t.Errorf("unknown command exit %d", code)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRedis runs a private redis-server on port and returns its stop func.
func startRedis(t *testing.T, port int) func() {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is required for this test: %v", err)
	}
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "redis up", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestReadyzNamesRedisAndRecovers(t *testing.T) {
	storetest.RequireRedis(t)
	port := freePort(t)
	stop := startRedis(t, port)
	e := newTestApp(t, func(m map[string]string) { m["REDIS_URL"] = fmt.Sprintf("redis://127.0.0.1:%d/0", port) })

	var body map[string]any
	if code := e.getJSON("/readyz", &body); code != 200 {
		t.Fatalf("readyz with everything up = %d %v", code, body)
	}
	stop()
	if code := e.getJSON("/readyz", &body); code != 503 || fmt.Sprint(body["failing"]) != "[redis]" {
		t.Fatalf("readyz with Redis down = %d %v, want 503 naming redis", code, body)
	}
	if code := e.getJSON("/healthz", nil); code != 200 {
		t.Fatalf("healthz with Redis down = %d", code)
	}
	startRedis(t, port)
	eventually(t, 10*time.Second, "readyz to recover", func() bool { return e.getJSON("/readyz", nil) == 200 })
}

func TestMetricsExposed(t *testing.T) {
	e := newTestApp(t)
	e.getJSON("/healthz", nil)
	res, err := httpGetString(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`coupontrail_http_requests_total{method="GET",route="/healthz",status="200"}`, "coupontrail_http_request_duration_seconds_bucket", "go_goroutines"} {
		if !strings.Contains(res, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
