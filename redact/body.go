package redact

import (
	"bytes"
	"mime"
	"strings"
)

// Body masks a request or response body according to its Content-Type:
// JSON for application/json, text/json and any "+json" type; Form for
// application/x-www-form-urlencoded; for anything else (or no type), JSON
// if the body looks like a JSON object or array, otherwise Text.
func Body(contentType string, body []byte) []byte {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		mt, _, _ = strings.Cut(contentType, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
	}
	switch {
	case mt == "application/json" || mt == "text/json" || strings.HasSuffix(mt, "+json"):
		return JSON(body)
	case mt == "application/x-www-form-urlencoded":
		return Form(body)
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return JSON(body)
	}
	return Text(body)
}
