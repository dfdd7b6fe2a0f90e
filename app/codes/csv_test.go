package codes

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"strings"
	"testing"
	"time"
)

func TestCSVRoundTrip(t *testing.T) {
	t.Parallel()
	f := Format{Prefix: "SPR", Length: 10, CheckChar: true, Separator: "-", GroupSize: 5}
	g := NewGenerator(f, newTestRand(12))
	issued := time.Date(2026, 3, 1, 10, 0, 0, 0, time.FixedZone("CET", 3600))
	var rows []ExportRow
	if err := g.Stream(context.Background(), 2_500, func(batch [][]byte) error {
		for i, c := range batch {
			r := ExportRow{Code: string(c), Status: "available"}
			if i%3 == 0 {
				r.Status, r.CustomerEmail, r.PartnerID, r.Channel = "issued", "ana@example.com", "42", "email"
				r.IssuedAt, r.ExpiresAt = issued, issued.Add(72*time.Hour)
			}
			if i%7 == 0 {
				r.Status, r.CustomerEmail, r.RedeemedAt = "redeemed", "=HYPERLINK(\"x\")@evil.test", issued.Add(time.Hour)
			}
			rows = append(rows, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, seq(rows, nil)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "code,status,customer_email,partner_id,channel,issued_at,expires_at,redeemed_at\n") {
		t.Fatalf("header: %q", out[:80])
	}
	if !strings.Contains(out, ",2026-03-01T09:00:00Z,2026-03-04T09:00:00Z,") {
		t.Error("times not RFC 3339 UTC")
	}
	if strings.Contains(out, ",=HYPERLINK") || !strings.Contains(out, `"'=HYPERLINK`) {
		t.Error("formula cell not escaped")
	}
	got, err := ParseCSV(strings.NewReader(out), ImportOptions{Format: &f})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rows) {
		t.Fatalf("%d rows back, want %d", len(got), len(rows))
	}
	for i, r := range got {
		if !r.OK || r.Code != rows[i].Code || r.Line != i+2 {
			t.Fatalf("row %d: %+v, want code %q at line %d", i, r, rows[i].Code, i+2)
		}
	}
}

func seq(rows []ExportRow, err error) iter.Seq2[ExportRow, error] {
	return func(yield func(ExportRow, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
		if err != nil {
			yield(ExportRow{}, err)
		}
	}
}

func TestParseCSVReport(t *testing.T) {
	t.Parallel()
	in := "email,Code,note\n" +
		"a@x,  abc-123 ,first\n" +
		"b@x,ABC-123,dup\n" +
		"c@x,,empty\n" +
		"d@x,ABC 123,space\n" +
		"e@x,CAFÉ,unicode\n" +
		"f@x," + strings.Repeat("A", 256) + ",long\n" +
		"g@x,'-5OFF,escaped\n" +
		"h@x\n" +
		"i@x,\"MULTI\nLINE\",quoted newline\n" +
		"j@x,ok2,last\n"
	rows, err := ParseCSV(strings.NewReader(in), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		line   int
		code   string
		reason Reason
	}{
		{2, "ABC-123", ""},
		{3, "ABC-123", ReasonDuplicate},
		{4, "", ReasonEmpty},
		{5, "ABC 123", ReasonCharset},
		{6, "CAFÉ", ReasonCharset},
		{7, strings.Repeat("A", 256), ReasonTooLong},
		{8, "-5OFF", ""},
		{9, "", ReasonEmpty},
		{10, "MULTI\nLINE", ReasonCharset},
		{12, "OK2", ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	for i, w := range want {
		r := rows[i]
		if r.Line != w.line || r.Code != w.code || r.Reason != w.reason || r.OK != (w.reason == "") {
			t.Errorf("row %d = %+v, want line %d code %q reason %q", i, r, w.line, w.code, w.reason)
		}
		if !r.OK && r.Detail == "" {
			t.Errorf("row %d: no detail", i)
		}
	}
	if !strings.Contains(rows[1].Detail, "line 2") {
		t.Errorf("duplicate detail %q", rows[1].Detail)
	}
}

func TestParseCSVNoHeaderAndFormat(t *testing.T) {
	t.Parallel()
	f := Format{Length: 6, CheckChar: true}
	g := NewGenerator(f, newTestRand(13))
	good := g.Next()
	bad := good[:6] + string(Alphabet[(strings.IndexByte(Alphabet, good[6])+1)%radix])
	in := good + "\n" + bad + "\nABCDEFG0\n"
	rows, err := ParseCSV(strings.NewReader(in), ImportOptions{Format: &f})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || !rows[0].OK || rows[0].Line != 1 ||
		rows[1].Reason != ReasonFormat || !strings.Contains(rows[1].Detail, "check") ||
		rows[2].Reason != ReasonFormat {
		t.Fatalf("rows %+v", rows)
	}
}

func TestParseCSVErrors(t *testing.T) {
	t.Parallel()
	if _, err := ParseCSV(strings.NewReader("code\n\"unterminated\n"), ImportOptions{}); err == nil {
		t.Error("broken quoting accepted")
	}
	rows, err := ParseCSV(strings.NewReader("A\nB\nC\n"), ImportOptions{MaxRows: 2})
	if err == nil || len(rows) != 2 {
		t.Errorf("MaxRows: err %v, %d rows", err, len(rows))
	}
	rows, err = ParseCSV(strings.NewReader(""), ImportOptions{})
	if err != nil || len(rows) != 0 {
		t.Errorf("empty file: %v %v", rows, err)
	}
	// A UTF-8 BOM from Excel must not hide the header.
	rows, err = ParseCSV(strings.NewReader("\ufeffcode\nABC\n"), ImportOptions{})
	if err != nil || len(rows) != 1 || rows[0].Code != "ABC" {
		t.Errorf("BOM header: %+v %v", rows, err)
	}
}

func TestWriteCSVErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	var buf bytes.Buffer
	if err := WriteCSV(&buf, seq([]ExportRow{{Code: "A"}}, boom)); !errors.Is(err, boom) {
		t.Errorf("source error lost: %v", err)
	}
	buf.Reset()
	if err := WriteCSV(&buf, seq(nil, nil)); err != nil || buf.String() != "code,status,customer_email,partner_id,channel,issued_at,expires_at,redeemed_at\n" {
		t.Errorf("empty export %q %v", buf.String(), err)
	}
	if err := WriteCSV(failWriter{boom}, seq([]ExportRow{{Code: "A"}}, nil)); !errors.Is(err, boom) {
		t.Errorf("write error lost: %v", err)
	}
}

type failWriter struct{ err error }

func (w failWriter) Write([]byte) (int, error) { return 0, w.err }

func FuzzParseCSV(f *testing.F) {
	f.Add("code\nABC\nabc\n")
	f.Add("x,code\n1,'=A\n2,\"B\"\n")
	f.Add("\"")
	f.Fuzz(func(t *testing.T, in string) {
		rows, _ := ParseCSV(strings.NewReader(in), ImportOptions{})
		seen := map[string]bool{}
		for _, r := range rows {
			if r.OK {
				if seen[r.Code] {
					t.Fatalf("duplicate %q accepted", r.Code)
				}
				seen[r.Code] = true
				if r.Code != Normalize(r.Code) || len(r.Code) == 0 || len(r.Code) > MaxCodeLength {
					t.Fatalf("bad accepted code %q", r.Code)
				}
			}
		}
	})
}
