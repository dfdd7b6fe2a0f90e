package codes

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"strings"
	"time"
)

// Reason classifies why an imported row was rejected.
type Reason string

// Import rejection reasons.
const (
	ReasonEmpty     Reason = "empty"
	ReasonTooLong   Reason = "too_long"
	ReasonCharset   Reason = "invalid_character"
	ReasonFormat    Reason = "format_mismatch"
	ReasonDuplicate Reason = "duplicate"
)

// ImportRow is the verdict on one data row of an imported file.
type ImportRow struct {
	// Line is the 1-based line of the file where the row starts, as a
	// merchant sees it in an editor or spreadsheet.
	Line int
	// Code is the normalised code (see Normalize).
	Code string
	// OK is true when the code can be imported; otherwise Reason and Detail
	// say why.
	OK     bool
	Reason Reason
	Detail string
}

// ImportOptions tunes ParseCSV.
type ImportOptions struct {
	// Format, if set, requires every code to be Valid for it (prefix,
	// length, alphabet, check symbol). Without it, any code of 1..255
	// characters from A–Z, 0–9 and '-' is accepted: Shopify's safe set for
	// codes that travel in URL paths (shopify-platform.md §4.7).
	Format *Format
	// MaxRows caps the number of data rows; 0 means StoreCodeCap.
	MaxRows int
}

// ParseCSV reads codes for import, one per record, and returns a verdict for
// every data row in file order.
//
// The code is taken from the column headed "code" (any case) if the first
// record has one (so files from WriteCSV and spreadsheets with extra columns
// work), else from the first column with no header. Codes are normalised,
// checked for charset and length (or against opts.Format) and for duplicates
// within the file; the first occurrence wins. A leading apostrophe added by
// WriteCSV's formula escaping is removed.
//
// The error is non-nil only when the file itself cannot be read: broken CSV
// quoting, an I/O error, or more than MaxRows rows. Row problems are reported
// in the rows, never as an error.
func ParseCSV(r io.Reader, opts ImportOptions) ([]ImportRow, error) {
	maxRows := opts.MaxRows
	if maxRows <= 0 {
		maxRows = StoreCodeCap
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	var (
		rows  []ImportRow
		seen  = make(map[string]int) // code -> line of first occurrence
		col   = 0
		first = true
	)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return rows, fmt.Errorf("codes: parse csv: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if first {
			first = false
			if i := headerColumn(rec); i >= 0 {
				col = i
				continue
			}
		}
		if len(rows) >= maxRows {
			return rows, fmt.Errorf("codes: parse csv: more than %d rows (line %d)", maxRows, line)
		}
		raw := ""
		if col < len(rec) {
			raw = unescapeFormula(rec[col])
		}
		row := ImportRow{Line: line, Code: Normalize(raw)}
		row.Reason, row.Detail = checkImport(row.Code, opts.Format)
		if row.Reason == "" {
			if prev, dup := seen[row.Code]; dup {
				row.Reason, row.Detail = ReasonDuplicate, fmt.Sprintf("duplicate of line %d", prev)
			} else {
				seen[row.Code] = line
			}
		}
		row.OK = row.Reason == ""
		rows = append(rows, row)
	}
}

// headerColumn returns the index of the "code" column if rec is a header row,
// else -1.
func headerColumn(rec []string) int {
	for i, f := range rec {
		if strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(f, "\ufeff")), "code") {
			return i
		}
	}
	return -1
}

// checkImport validates one normalised imported code.
func checkImport(code string, f *Format) (Reason, string) {
	if code == "" {
		return ReasonEmpty, "no code"
	}
	if len(code) > MaxCodeLength {
		return ReasonTooLong, fmt.Sprintf("%d characters, Shopify allows %d", len(code), MaxCodeLength)
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return ReasonCharset, fmt.Sprintf("character %q at %d not in A-Z, 0-9, '-'", c, i)
		}
	}
	if f != nil {
		if err := checkCode(code, *f); err != nil {
			return ReasonFormat, err.Error()
		}
	}
	return "", ""
}

// ExportRow is one code as exported; zero times are written as empty cells.
type ExportRow struct {
	Code          string
	Status        string // available | issued | redeemed | expired | disabled
	CustomerEmail string
	PartnerID     string
	Channel       string
	IssuedAt      time.Time
	ExpiresAt     time.Time
	RedeemedAt    time.Time
}

// CSVWriter streams ExportRows as CSV with the header
// code,status,customer_email,partner_id,channel,issued_at,expires_at,redeemed_at
// (the field names of GET /api/v1/codes). Times are RFC 3339 in UTC.
//
// Cells that a spreadsheet would run as a formula (starting with = + - @, tab
// or CR) get a leading apostrophe: customer emails and channel names come from
// outside. ParseCSV removes it again.
type CSVWriter struct {
	w      *csv.Writer
	header bool
	rec    [8]string
}

// NewCSVWriter returns a CSVWriter writing to w. Call Flush when done.
func NewCSVWriter(w io.Writer) *CSVWriter {
	return &CSVWriter{w: csv.NewWriter(w)}
}

func (cw *CSVWriter) writeHeader() error {
	if cw.header {
		return nil
	}
	cw.header = true
	return cw.w.Write([]string{"code", "status", "customer_email", "partner_id", "channel",
		"issued_at", "expires_at", "redeemed_at"})
}

// Write writes one row (and the header before the first).
func (cw *CSVWriter) Write(r ExportRow) error {
	if err := cw.writeHeader(); err != nil {
		return err
	}
	cw.rec = [8]string{
		escapeFormula(r.Code), escapeFormula(r.Status), escapeFormula(r.CustomerEmail),
		escapeFormula(r.PartnerID), escapeFormula(r.Channel),
		formatTime(r.IssuedAt), formatTime(r.ExpiresAt), formatTime(r.RedeemedAt),
	}
	return cw.w.Write(cw.rec[:])
}

// Flush writes the header if no row was written, flushes buffered data and
// returns any write error.
func (cw *CSVWriter) Flush() error {
	if err := cw.writeHeader(); err != nil {
		return err
	}
	cw.w.Flush()
	return cw.w.Error()
}

// WriteCSV streams rows to w as CSV (see CSVWriter), stopping at the first
// error from rows or w. A store query can feed it directly as an iter.Seq2.
func WriteCSV(w io.Writer, rows iter.Seq2[ExportRow, error]) error {
	cw := NewCSVWriter(w)
	for r, err := range rows {
		if err != nil {
			return fmt.Errorf("codes: export: %w", err)
		}
		if err := cw.Write(r); err != nil {
			return fmt.Errorf("codes: export: %w", err)
		}
	}
	if err := cw.Flush(); err != nil {
		return fmt.Errorf("codes: export: %w", err)
	}
	return nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// formulaStart reports whether a cell starting with c is run as a formula by
// spreadsheet software (OWASP "CSV injection").
func formulaStart(c byte) bool {
	switch c {
	case '=', '+', '-', '@', '\t', '\r':
		return true
	}
	return false
}

func escapeFormula(s string) string {
	if s != "" && formulaStart(s[0]) {
		return "'" + s
	}
	return s
}

func unescapeFormula(s string) string {
	if len(s) >= 2 && s[0] == '\'' && formulaStart(s[1]) {
		return s[1:]
	}
	return s
}
