package bankmsg

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding/korean"
)

// MaxStatementBytes caps the statement file ParseStatementCSV reads.
const MaxStatementBytes = 32 << 20

// maxHeaderSearchRows is how many leading rows may precede the header row
// (exports start with a title, the account and the period).
const maxHeaderSearchRows = 30

// RowError reports a statement row that could not be read. Row is the
// 1-based line of the file where the row starts.
type RowError struct {
	Row int
	Err string
}

func (e RowError) Error() string { return fmt.Sprintf("row %d: %s", e.Row, e.Err) }

// Statement column roles, found by header name.
type column int

const (
	colDateTime column = iota // 거래일시: date and time in one cell
	colDate                   // 거래일자: date only
	colTime                   // 거래시간
	colNote                   // 적요
	colName                   // 기재내용 / 내용 / 입금자명 / 보낸분/받는분
	colOut                    // 찾으신금액 / 출금액
	colIn                     // 맡기신금액 / 입금액
	colBalance                // 잔액 / 거래후잔액
	colBranch                 // 거래점 / 취급점 (recognised, not used)
	numColumns
)

// headerNames maps a normalised header (whitespace removed, "(원)" dropped)
// to its role. The header sets are those of Korean internet-banking account
// history exports as seen in public statement-import code: 거래일시 / 적요 /
// 기재내용 / 찾으신금액 / 맡기신금액 / 잔액 / 거래점; 거래일자 + 거래시간 /
// 적요 / 출금(원) / 입금(원) / 내용 / 잔액(원) / 거래점; 거래일시 / 적요 /
// 보낸분/받는분 / 출금액 / 입금액 / 잔액; 거래일자 / 적요 / 찾으신금액 /
// 맡기신금액 / 잔액 (a post-office history); 거래후잔액 as the balance.
var headerNames = map[string]column{
	"거래일시": colDateTime,
	"거래일자": colDate, "거래일": colDate,
	"거래시간": colTime, "시간": colTime,
	"적요":   colNote,
	"기재내용": colName, "내용": colName, "입금자명": colName, "입금자": colName, "보낸분/받는분": colName, "기록사항": colName,
	"찾으신금액": colOut, "출금액": colOut, "출금": colOut, "출금금액": colOut,
	"맡기신금액": colIn, "입금액": colIn, "입금": colIn, "입금금액": colIn,
	"잔액": colBalance, "거래후잔액": colBalance,
	"거래점": colBranch, "취급점": colBranch,
}

func normalizeHeader(s string) string {
	s = strings.Join(strings.Fields(strings.TrimPrefix(s, "\uFEFF")), "")
	s = strings.TrimSuffix(s, "(원)")
	return s
}

// ParseStatementCSV reads an account-history file as Korean internet banking
// exports it (saved or converted to CSV). Columns are found by their Korean
// header names, not by position, so layouts with 거래일시 or with 거래일자 plus
// 거래시간, 찾으신금액/맡기신금액 or 출금액/입금액, 잔액 or 거래후잔액, with
// or without 적요, 기재내용/내용/입금자명 and 거래점 are all read. Rows above
// the header (title, account, period) are skipped.
//
// The file may be UTF-8, with or without a byte-order mark, or CP949/EUC-KR
// (what Korean Excel saves as CSV). Amounts may carry thousands commas and
// a trailing 원.
//
// Each data row must have exactly one of withdrawal/deposit positive.
// Rows that cannot be read are returned as RowErrors with their line number,
// never dropped silently; blank rows are skipped. The error is for the file as
// a whole: unreadable, too large, not CSV, or no recognisable header.
// Statement rows have no Bank (the file does not say) and Time in Asia/Seoul
// (midnight when the layout has a date only).
func ParseStatementCSV(r io.Reader) ([]Transaction, []RowError, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxStatementBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("bankmsg: reading statement: %w", err)
	}
	if len(data) > MaxStatementBytes {
		return nil, nil, fmt.Errorf("bankmsg: statement larger than %d bytes", MaxStatementBytes)
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	if !utf8.Valid(data) {
		dec, err := korean.EUCKR.NewDecoder().Bytes(data) // x/text's EUC-KR decoder reads CP949
		if err != nil {
			return nil, nil, fmt.Errorf("bankmsg: statement is neither UTF-8 nor CP949: %w", err)
		}
		data = dec
	}

	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = false

	var cols [numColumns]int
	header := false
	var txs []Transaction
	var rowErrs []RowError
	for n := 0; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line := 0
		if len(rec) > 0 {
			line, _ = cr.FieldPos(0)
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if !header {
					return nil, nil, fmt.Errorf("bankmsg: statement is not CSV: %w", err)
				}
				rowErrs = append(rowErrs, RowError{Row: pe.StartLine, Err: pe.Err.Error()})
				continue
			}
			return nil, nil, fmt.Errorf("bankmsg: reading statement: %w", err)
		}
		if !header {
			if c, ok := findHeader(rec); ok {
				cols, header = c, true
				continue
			}
			if n >= maxHeaderSearchRows {
				break
			}
			continue
		}
		if blank(rec) {
			continue
		}
		t, msg := statementRow(rec, cols)
		if msg != "" {
			rowErrs = append(rowErrs, RowError{Row: line, Err: msg})
			continue
		}
		txs = append(txs, t)
	}
	if !header {
		return nil, nil, errors.New("bankmsg: no statement header found (need a date column and 출금/입금 amount columns)")
	}
	return txs, rowErrs, nil
}

// findHeader reports whether rec is a header row: a date column and both
// amount columns, every role at most once.
func findHeader(rec []string) ([numColumns]int, bool) {
	var cols [numColumns]int
	for i := range cols {
		cols[i] = -1
	}
	for i, cell := range rec {
		c, ok := headerNames[normalizeHeader(cell)]
		if !ok {
			continue
		}
		if cols[c] >= 0 {
			return cols, false
		}
		cols[c] = i
	}
	hasDate := cols[colDateTime] >= 0 || cols[colDate] >= 0
	return cols, hasDate && cols[colIn] >= 0 && cols[colOut] >= 0
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

func cell(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.Join(strings.Fields(rec[i]), " ")
}

func statementRow(rec []string, cols [numColumns]int) (Transaction, string) {
	var t Transaction
	var when time.Time
	var ok bool
	if cols[colDateTime] >= 0 {
		when, ok = parseStatementTime(cell(rec, cols[colDateTime]), "")
	} else {
		when, ok = parseStatementTime(cell(rec, cols[colDate]), cell(rec, cols[colTime]))
	}
	if !ok {
		return t, "unreadable date/time"
	}
	t.Time = when

	out, outOK, msg := statementAmount(cell(rec, cols[colOut]))
	if msg != "" {
		return t, "withdrawal amount: " + msg
	}
	in, inOK, msg := statementAmount(cell(rec, cols[colIn]))
	if msg != "" {
		return t, "deposit amount: " + msg
	}
	switch {
	case outOK && inOK:
		return t, "both withdrawal and deposit amounts"
	case inOK:
		t.Kind, t.Amount = Deposit, in
	case outOK:
		t.Kind, t.Amount = Withdrawal, out
	default:
		return t, "no amount"
	}
	if cols[colBalance] >= 0 {
		if s := cleanAmount(cell(rec, cols[colBalance])); s != "" {
			b, r := parseSigned(s)
			if r != "" {
				return t, "balance: " + string(r)
			}
			t.Balance = &b
		}
	}
	t.Counterparty = cell(rec, cols[colName])
	t.Note = cell(rec, cols[colNote])
	return t, ""
}

func cleanAmount(s string) string {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "원"))
	return strings.ReplaceAll(s, " ", "")
}

// statementAmount reads one amount cell: empty or zero means "none".
func statementAmount(s string) (int64, bool, string) {
	s = cleanAmount(s)
	if s == "" || s == "-" {
		return 0, false, ""
	}
	v, r := parseSigned(s)
	if r != "" {
		return 0, false, string(r) + " (" + s + ")"
	}
	if v < 0 {
		return 0, false, "negative amount (" + s + ")"
	}
	return v, v > 0, ""
}

// parseStatementTime reads "2024.01.02 13:45:01", "2024-01-02 13:45",
// "2024/01/02", "20240102" and a separate time cell "13:45:01", "13:45" or
// "134501".
func parseStatementTime(date, clock string) (time.Time, bool) {
	date = strings.TrimSpace(date)
	if clock == "" {
		if d, c, ok := strings.Cut(date, " "); ok {
			date, clock = d, strings.TrimSpace(c)
		}
	}
	var y, mo, d int
	switch {
	case len(date) == 8 && allDigits(date):
		y, mo, d = atoi(date[:4]), atoi(date[4:6]), atoi(date[6:])
	default:
		parts := strings.FieldsFunc(date, func(r rune) bool { return r == '.' || r == '-' || r == '/' })
		if len(parts) != 3 || len(parts[0]) != 4 || !allDigits(parts[0]+parts[1]+parts[2]) ||
			len(parts[1]) > 2 || len(parts[2]) > 2 {
			return time.Time{}, false
		}
		y, mo, d = atoi(parts[0]), atoi(parts[1]), atoi(parts[2])
	}
	h, mi, sec := 0, 0, 0
	if clock != "" {
		var ok bool
		if h, mi, sec, ok = parseClock(clock); !ok {
			return time.Time{}, false
		}
	}
	t, ok := makeTime(y, mo, d, h, mi)
	if !ok {
		return time.Time{}, false
	}
	return t.Add(time.Duration(sec) * time.Second), true
}

func parseClock(s string) (h, m, sec int, ok bool) {
	var parts []string
	if strings.Contains(s, ":") {
		parts = strings.Split(s, ":")
	} else if allDigits(s) && (len(s) == 4 || len(s) == 6) {
		for i := 0; i < len(s); i += 2 {
			parts = append(parts, s[i:i+2])
		}
	}
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, false
	}
	for _, p := range parts {
		if len(p) == 0 || len(p) > 2 || !allDigits(p) {
			return 0, 0, 0, false
		}
	}
	h, m = atoi(parts[0]), atoi(parts[1])
	if len(parts) == 3 {
		sec = atoi(parts[2])
	}
	if h > 23 || m > 59 || sec > 59 {
		return 0, 0, 0, false
	}
	return h, m, sec, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
