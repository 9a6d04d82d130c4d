package server

import (
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/paymux/paymux/apierr"
)

const defaultPageSize = 20

func pageSize(requested int32) int {
	if requested <= 0 {
		return defaultPageSize
	}
	return int(requested)
}

// pageCursor is where a page ends: the sort key of its last row. Opaque to
// clients.
type pageCursor struct {
	Time int64  `json:"t"` // unix microseconds
	ID   string `json:"i"`
}

func (c pageCursor) time() time.Time { return time.UnixMicro(c.Time).UTC() }

func encodeCursor(t time.Time, id string) string {
	b, _ := json.Marshal(pageCursor{Time: t.UnixMicro(), ID: id}) // plain struct: cannot fail
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeCursor returns ok=false for an empty token (the first page).
func decodeCursor(token string) (c pageCursor, ok bool, err error) {
	if token == "" {
		return pageCursor{}, false, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID == "" {
		return pageCursor{}, false, apierr.InvalidField("page_token", "not a page token from a previous response")
	}
	return c, true, nil
}

// page trims rows fetched with a limit of size+1 to one page, and returns
// the token of the next page ("" on the last one). sortKey gives a row's
// position: its creation time and id.
func page[T any](rows []T, size int, sortKey func(T) (time.Time, string)) ([]T, string) {
	if len(rows) <= size {
		return rows, ""
	}
	rows = rows[:size]
	return rows, encodeCursor(sortKey(rows[size-1]))
}
