//go:build unix

package main

// TestREADME runs the README's walk-throughs, as written, against the real
// binary, so that the README cannot drift from what paymux does.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// readmeSkipMarker, alone on the line before a ```sh block, keeps the
// block from being run, and says why.
var readmeSkipMarker = regexp.MustCompile(`^<!-- not run by the README test: (\S.*?) -->$`)

// readmeBlock is one ```sh block of the README.
type readmeBlock struct {
	line int    // of the opening fence, 1-based
	text string // between the fences
	skip string // the marker's reason; empty: the block is run
}

// readmeBlocks returns the README's ```sh blocks. Every one is run unless
// marked; a marker must stand right before a ```sh block, and shell in a
// fence of another name is refused, so no block escapes the test unmarked.
func readmeBlocks(readme string) ([]readmeBlock, error) {
	var (
		blocks   []readmeBlock
		marker   string // reason of a marker on the previous non-blank line
		markedAt int
		cur      *readmeBlock
		body     []string
		inFence  bool
	)
	lines := strings.Split(readme, "\n")
	for i, line := range lines {
		n := i + 1
		if inFence {
			if strings.TrimSpace(line) == "```" {
				inFence = false
				if cur != nil {
					cur.text = strings.Join(body, "\n") + "\n"
					blocks = append(blocks, *cur)
					cur = nil
				}
				continue
			}
			if cur != nil {
				body = append(body, line)
			}
			continue
		}
		if lang, ok := strings.CutPrefix(strings.TrimSpace(line), "```"); ok {
			inFence = true
			switch lang {
			case "sh":
				cur = &readmeBlock{line: n, skip: marker}
				body = nil
				marker = ""
				continue
			case "bash", "shell", "console", "zsh", "shell-session":
				return nil, fmt.Errorf("README.md:%d: a ```%s block: write ```sh, so that the README test runs it (or marks it)", n, lang)
			}
			if marker != "" {
				return nil, fmt.Errorf("README.md:%d: the README test's marker is not followed by a ```sh block", markedAt)
			}
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if marker != "" {
			return nil, fmt.Errorf("README.md:%d: the README test's marker is not followed by a ```sh block", markedAt)
		}
		if m := readmeSkipMarker.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			marker, markedAt = m[1], n
		} else if strings.Contains(line, "not run by the README test") {
			return nil, fmt.Errorf("README.md:%d: malformed marker (want %q)", n, "<!-- not run by the README test: why -->")
		}
	}
	if inFence {
		return nil, errors.New("README.md: a code block is not closed")
	}
	if marker != "" {
		return nil, fmt.Errorf("README.md:%d: the README test's marker is not followed by a ```sh block", markedAt)
	}
	return blocks, nil
}

func TestReadmeBlocks(t *testing.T) {
	tests := []struct {
		name    string
		readme  string
		want    []readmeBlock
		wantErr string
	}{
		{
			name:   "blocks to run, and one marked",
			readme: "# x\n\n```sh\necho a\n```\n\n<!-- not run by the README test: it serves -->\n```sh\nserve\n```\n```yaml\na: b\n```\n```\nplain\n```\n",
			want:   []readmeBlock{{line: 3, text: "echo a\n"}, {line: 8, text: "serve\n", skip: "it serves"}},
		},
		{
			name:    "a marker before text",
			readme:  "<!-- not run by the README test: why -->\nsome text\n```sh\necho\n```\n",
			wantErr: "README.md:1: the README test's marker is not followed",
		},
		{
			name:    "a marker before another language",
			readme:  "<!-- not run by the README test: why -->\n```yaml\na: b\n```\n",
			wantErr: "README.md:1: the README test's marker is not followed",
		},
		{
			name:    "a marker at the end",
			readme:  "text\n<!-- not run by the README test: why -->\n",
			wantErr: "README.md:2: the README test's marker is not followed",
		},
		{
			name:    "a marker without a reason",
			readme:  "<!-- not run by the README test: -->\n```sh\necho\n```\n",
			wantErr: "README.md:1: malformed marker",
		},
		{
			name:    "shell under another name",
			readme:  "```bash\necho\n```\n",
			wantErr: "README.md:1: a ```bash block",
		},
		{
			name:    "an open fence",
			readme:  "```sh\necho\n",
			wantErr: "not closed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readmeBlocks(tt.readme)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("blocks %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// ---- what a block's # lines promise -----------------------------------

// A whole-line comment in a run block shows what the calls before it print.
// "# 403 ..." says a call answers that HTTP status (every other call must
// answer 2xx); "# receiver: ..." is what the background webhook receiver
// prints, some time later; "<- ..." at the end of a line is prose.
var (
	expectedStatus = regexp.MustCompile(`^([45]\d\d)\s+`)
	// "key":value, with a value that is a string (where ... stands for
	// anything), a number, a literal or an empty list or object.
	jsonPair = regexp.MustCompile(`"([A-Za-z_@][A-Za-z0-9_]*)":\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null|\[\]|\{\})`)
	// Names worth finding wherever they are: enum values and error
	// reasons (PAYMENT_STATUS_PAID, IP_NOT_ALLOWED), event types and
	// masked card numbers.
	namedToken = regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b(?:payment|billing_key|billing\.schedule)\.[a-z_]+\b|\b\d{6}\*{6}\d{4}\b`)
)

// expectation is one thing a comment says the output holds.
type expectation struct {
	comment string         // the README's line, for messages
	re      *regexp.Regexp // must match the output
	later   bool           // printed by the receiver: look from the block on, not in the block only
}

// commentExpectations turns a block's whole-line comments into checks, and
// returns the non-2xx statuses they announce, in order.
func commentExpectations(block string) (exps []expectation, statuses []int) {
	for _, line := range strings.Split(block, "\n") {
		body, ok := strings.CutPrefix(strings.TrimSpace(line), "#")
		if !ok {
			continue
		}
		body = strings.TrimSpace(body)
		later := false
		if rest, ok := strings.CutPrefix(body, "receiver:"); ok {
			body, later = strings.TrimSpace(rest), true
		}
		if i := strings.Index(body, "<-"); i >= 0 {
			body = strings.TrimSpace(body[:i])
		}
		if m := expectedStatus.FindStringSubmatch(body); m != nil {
			code, _ := strconv.Atoi(m[1])
			statuses = append(statuses, code)
			body = body[len(m[0]):]
		}
		add := func(re string) {
			exps = append(exps, expectation{comment: strings.TrimSpace(line), re: regexp.MustCompile(re), later: later})
		}
		pairs := jsonPair.FindAllStringSubmatch(body, -1)
		for _, p := range pairs {
			key, value := p[1], p[2]
			prefix := `"` + regexp.QuoteMeta(key) + `":\s*`
			if str, ok := strings.CutPrefix(value, `"`); ok {
				// Within the JSON string, "..." stands for any characters.
				parts := strings.Split(strings.TrimSuffix(str, `"`), "...")
				for i := range parts {
					parts[i] = regexp.QuoteMeta(parts[i])
				}
				add(prefix + `"` + strings.Join(parts, `(?:[^"\\]|\\.)*?`) + `"`)
				continue
			}
			add(prefix + regexp.QuoteMeta(value) + `(?:$|[^A-Za-z0-9_.])`)
		}
		// Names outside the pairs (inside them, the pairs check them).
		for _, tok := range namedToken.FindAllString(jsonPair.ReplaceAllString(body, " "), -1) {
			add(`(?:^|[^A-Za-z0-9_.])` + regexp.QuoteMeta(tok) + `(?:$|[^A-Za-z0-9_])`)
		}
		if len(pairs) == 0 && body != "" {
			// Plain text: its pieces, in order.
			parts := strings.Split(body, "...")
			for i := range parts {
				parts[i] = regexp.QuoteMeta(strings.TrimSpace(parts[i]))
			}
			add(`(?s)` + strings.Join(parts, `.*?`))
		}
	}
	return exps, statuses
}

func TestCommentExpectations(t *testing.T) {
	tests := []struct {
		name         string
		block        string
		statuses     []int
		match, fails []string // outputs every check accepts; outputs some check refuses
	}{
		{
			name:     "JSON answer with ellipses",
			block:    "curl x\n# {\"payment\":{\"id\":\"pay_...\",\"status\":\"PAYMENT_STATUS_READY\",...},\"amount\":30000}   <- prose\n",
			match:    []string{`{"payment":{"id":"pay_1","storeId":"st_1","status":"PAYMENT_STATUS_READY"},"amount":30000}`, "{\n  \"payment\": {\"id\": \"pay_2\", \"status\": \"PAYMENT_STATUS_READY\"}, \"amount\": 30000}"},
			fails:    []string{`{"payment":{"id":"pay_1","status":"PAYMENT_STATUS_PAID"},"amount":30000}`, `{"payment":{"id":"key_1","status":"PAYMENT_STATUS_READY"},"amount":30000}`, `{"payment":{"id":"pay_1","status":"PAYMENT_STATUS_READY"},"amount":300001}`},
			statuses: nil,
		},
		{
			name:     "an error status and a reason",
			block:    "curl x\n# 403 {\"code\":7,\"message\":\"address 127.0.0.1 is not allowed ...\",\"details\":[{...,\"reason\":\"IP_NOT_ALLOWED\",...}]}\n",
			statuses: []int{403},
			match:    []string{`{"code":7,"message":"address 127.0.0.1 is not allowed for this key","details":[{"@type":"x","reason":"IP_NOT_ALLOWED"}]}`},
			fails:    []string{`{"code":7,"message":"address 127.0.0.1 is not allowed","details":[{"reason":"KEY_EXPIRED"}]}`, `{"code":16,"message":"address 127.0.0.1 is not allowed x","details":[{"reason":"IP_NOT_ALLOWED"}]}`},
		},
		{
			name:  "escaped JSON in a string",
			block: "# {\"requestBody\":\"{...\\\"number\\\":\\\"941000******0518\\\"...}\"}\n",
			match: []string{`{"requestBody":"{\"card\":{\"number\":\"941000******0518\",\"cvc\":\"[REDACTED]\"}}"}`},
			fails: []string{`{"requestBody":"{\"card\":{\"number\":\"9410000000000518\"}}"}`, `{"requestBody":"x","other":"\"number\":\"941000******0518\""}`},
		},
		{
			name:  "plain text",
			block: "curl /healthz\n# ok\ngrep x\n# paymux_requests_total{code=\"ok\",...} ...\n",
			match: []string{"ok\npaymux_requests_total{code=\"ok\",procedure=\"x\"} 3\n"},
			fails: []string{"fine\npaymux_requests_total{code=\"ok\"} 1", "ok\npaymux_requests_total{code=\"error\"} 1"},
		},
		{
			name:  "event types and receiver lines",
			block: "# receiver:   {\"type\":\"billing.schedule.succeeded\",\"data\":{...}}\n",
			match: []string{`{"type":"billing.schedule.succeeded","data":{}}`},
			fails: []string{`{"type":"billing.schedule.failed","data":{}}`},
		},
		{
			name:  "inline notes are not expectations",
			block: "curl -X DELETE x   # for good\n",
			match: []string{""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exps, statuses := commentExpectations(tt.block)
			if !slices.Equal(statuses, tt.statuses) {
				t.Errorf("statuses %v, want %v", statuses, tt.statuses)
			}
			for _, out := range tt.match {
				for _, e := range exps {
					if !e.re.MatchString(out) {
						t.Errorf("%s (%s) does not match %q", e.comment, e.re, out)
					}
				}
			}
			for _, out := range tt.fails {
				if !slices.ContainsFunc(exps, func(e expectation) bool { return !e.re.MatchString(out) }) {
					t.Errorf("every check accepts %q", out)
				}
			}
		})
	}
}

// ---- running the README ------------------------------------------------------

// syncBuffer collects the script's output as it comes.
type lockedOutput struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (o *lockedOutput) add(s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.WriteString(s)
}

func (o *lockedOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// freePort returns a loopback address nobody listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

const (
	readmeBlockMark = "=== README block "
	readmeDoneMark  = "=== README blocks done"
)

var (
	// What the reader is told to paste: the first run's printed values.
	pastedValue = regexp.MustCompile(`(?m)^([A-Z][A-Z0-9_]*)=(ck_test_|sk_test_|pma_|st_)\.\.\.(\s|$)`)
	// The webhook receivers' addresses.
	receiverAddr = regexp.MustCompile(`127\.0\.0\.1:9\d{3}\b`)
	// The tools the blocks build on first use.
	grpcurlRun = regexp.MustCompile(`go run (\S+/grpcurl@\S+)`)
	// A line of the HTTP log: block, status, method, URL.
	httpLine = regexp.MustCompile(`(?m)^(\d+) (\d{3}) (\S+) (\S+)$`)
)

// TestREADME runs every ```sh block of README.md that is not marked, in
// order, in one bash process, against `paymux serve` on a fresh data
// directory, with the printed secrets pasted where the README says, and
// checks what the blocks' # lines say they print.
func TestREADME(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("the README's walk-throughs need %s (.ci/run installs it): %v", tool, err)
			}
			t.Skipf("the README's walk-throughs need %s: %v", tool, err)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := readmeBlocks(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	var run []readmeBlock
	for _, b := range blocks {
		if b.skip == "" {
			run = append(run, b)
		} else {
			t.Logf("README.md:%d: not run: %s", b.line, b.skip)
		}
	}
	if len(run) < 10 {
		t.Fatalf("only %d ```sh blocks to run in README.md: is the README test reading the right file?", len(run))
	}

	warmTools(t, root, run)

	s := startServe(t, []string{"PAYMUX_WEBHOOKS_ALLOW_PRIVATE=true"}, "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data"))
	f := parseFirstRun(t, s.stdout.String(), s.URL)
	serveAddr := strings.TrimPrefix(s.URL, "http://")
	checkFirstRunSample(t, string(readme), strings.ReplaceAll(s.stdout.String(), serveAddr, "127.0.0.1:8080"))

	// The script: the blocks, each announced on the output, with the
	// placeholders replaced the way the README tells the reader to.
	printed := map[string]string{"ck_test_": f.ClientKey, "sk_test_": f.SecretKey, "pma_": f.AdminToken, "st_": f.StoreID}
	pasted := map[string]bool{}
	receivers := map[string]string{}
	// Each curl also writes its block and HTTP status to a log of its own
	// (with its standard error: the receivers in the background print into
	// the output at any moment, so the output cannot be relied on for it).
	httpLog := filepath.Join(t.TempDir(), "http.log")
	var script strings.Builder
	fmt.Fprintf(&script, `set -euo pipefail
curl() { command curl --no-progress-meter -w "%%{stderr}$readme_test_block %%{response_code} %%{method} %%{url_effective}\n" "$@" 2>>%q; }
`, httpLog)
	texts := make([]string, len(run))
	for i, b := range run {
		text := pastedValue.ReplaceAllStringFunc(b.text, func(m string) string {
			sub := pastedValue.FindStringSubmatch(m)
			pasted[sub[2]] = true
			return sub[1] + "=" + printed[sub[2]] + sub[3]
		})
		text = strings.ReplaceAll(text, "127.0.0.1:8080", serveAddr)
		text = receiverAddr.ReplaceAllStringFunc(text, func(addr string) string {
			if receivers[addr] == "" {
				receivers[addr] = freePort(t)
			}
			return receivers[addr]
		})
		text = strings.ReplaceAll(text, "go run ./cmd/paymux ", binary+" ")
		for n, line := range strings.Split(text, "\n") {
			if code := codePart(line); strings.Contains(code, "...") {
				t.Errorf("README.md:%d: a placeholder is left to run: %s", b.line+1+n, strings.TrimSpace(line))
			}
		}
		texts[i] = text
		fmt.Fprintf(&script, "printf '\\n%s%d (README.md line %d)\\n'\nreadme_test_block=%d\n%s", readmeBlockMark, i, b.line, i, text)
	}
	fmt.Fprintf(&script, "printf '\\n%s\\n'\n", readmeDoneMark)
	for prefix := range printed {
		if !pasted[prefix] {
			t.Errorf("README.md never has the reader paste the printed %s... value (a line NAME=%s...)", prefix, prefix)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	scriptFile := filepath.Join(t.TempDir(), "readme.sh")
	if err := os.WriteFile(scriptFile, []byte(script.String()), 0o600); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	out := runReadmeScript(t, root, scriptFile, func(out string) bool {
		// Wait, within bounds, for what the receivers still have to print.
		for i, b := range texts {
			exps, _ := commentExpectations(b)
			for _, e := range exps {
				if e.later && !e.re.MatchString(from(out, i)) {
					return false
				}
			}
		}
		return true
	})
	t.Logf("README: %d blocks run in %v", len(run), time.Since(start).Round(time.Millisecond))
	httpBytes, err := os.ReadFile(httpLog)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	httpCalls := string(httpBytes)

	if !strings.Contains(out, readmeDoneMark) {
		last := strings.LastIndex(out, readmeBlockMark)
		t.Fatalf("the README's blocks did not all run (set -e stops at the first failing command); the last one started:\n%s\n\nthe script's whole output:\n%s\n\ncurl's calls and errors:\n%s\n\npaymux's log:\n%s",
			out[max(last, 0):], out, httpCalls, s.stderr)
	}

	// Each block's own output, and what its # lines promise.
	for i, b := range run {
		own := blockOutput(out, i)
		exps, statuses := commentExpectations(texts[i])
		for _, e := range exps {
			where := own
			if e.later {
				where = from(out, i)
			}
			if !e.re.MatchString(where) {
				t.Errorf("README.md:%d: the block's output does not show what this line says:\n  %s\n(checked with %s)\nthe block's output:\n%s", b.line, e.comment, e.re, own)
			}
		}
		var got []int
		var calls []string
		for _, m := range httpLine.FindAllStringSubmatch(httpCalls, -1) {
			if m[1] != strconv.Itoa(i) {
				continue
			}
			calls = append(calls, m[0])
			if code, _ := strconv.Atoi(m[2]); code < 200 || code > 299 {
				got = append(got, code)
			}
		}
		if !slices.Equal(got, statuses) {
			t.Errorf("README.md:%d: calls answered HTTP %v where the block's # lines announce %v (every other call must succeed)\ncalls (block, status, method, URL):\n%s\nthe block's output:\n%s",
				b.line, got, statuses, strings.Join(calls, "\n"), own)
		}
	}

	// A few things no single # line says.
	if strings.Contains(out, f.SecretKey) {
		t.Error("a listing showed the first key's whole secret key")
	}
	receiver := receiverLines(out)
	if !strings.Contains(receiver, "signature OK") || strings.Contains(receiver, "signature BAD") {
		t.Errorf("the webhook receiver did not check every signature as good:\n%s", receiver)
	}
	for _, want := range []string{`"type":"payment.paid"`, `"merchantPaymentId":"order-10"`, `"type":"billing.schedule.succeeded"`, `"type":"billing_key.issued"`} {
		if !strings.Contains(receiver, want) {
			t.Errorf("the webhook receiver never printed %s:\n%s", want, receiver)
		}
	}
	// The timeline lists what happened in the order it happened.
	timeline := blockOutput(out, blockWith(t, texts, "/v1/timeline?"))
	pos := -1
	for _, step := range []string{`"LOG_KIND_API"`, `"payment.ready"`, `"payment.pay_pending"`, `"LOG_KIND_PG"`, `"payment.paid"`, `"LOG_KIND_WEBHOOK"`} {
		i := strings.Index(timeline[pos+1:], step)
		if i < 0 {
			t.Errorf("the timeline does not have %s after the steps before it:\n%s", step, timeline)
			break
		}
		pos += 1 + i
	}
	// The log of a refused call keeps the card masked, never whole.
	if detail := blockOutput(out, blockWith(t, texts, "/v1/logs/$LOG")); strings.Contains(detail, "9410000000000518") {
		t.Errorf("the call log shows a whole card number:\n%s", detail)
	}
	s.stop(t)
}

// codePart is a script line without its comment (roughly: the README's
// comments start a line or follow two spaces).
func codePart(line string) string {
	trimmed := strings.TrimSpace(line)
	if strings.HasPrefix(trimmed, "#") {
		return ""
	}
	if i := strings.Index(line, "  #"); i >= 0 {
		return line[:i]
	}
	return line
}

// warmTools builds, before the clock runs, the tools the blocks build on
// first use (minutes on a fresh machine, then cached).
func warmTools(t *testing.T, root string, blocks []readmeBlock) {
	t.Helper()
	seen := map[string]bool{}
	for _, b := range blocks {
		var cmds [][]string
		if strings.Contains(b.text, "go tool -modfile=tools/go.mod buf ") {
			cmds = append(cmds, []string{"go", "tool", "-modfile=tools/go.mod", "buf", "--version"})
		}
		for _, m := range grpcurlRun.FindAllStringSubmatch(b.text, -1) {
			cmds = append(cmds, []string{"go", "run", m[1], "-version"})
		}
		for _, c := range cmds {
			key := strings.Join(c, " ")
			if seen[key] {
				continue
			}
			seen[key] = true
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			cmd := exec.CommandContext(ctx, c[0], c[1:]...)
			cmd.Dir = root
			cmd.Env = childEnv()
			start := time.Now()
			output, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				t.Fatalf("%s: %v\n%s", key, err, output)
			}
			t.Logf("%s: ready in %v", key, time.Since(start).Round(time.Millisecond))
		}
	}
}

// runReadmeScript runs the script with bash in its own process group, in
// the repository's root, and returns its output (standard output and
// error, interleaved as written). Once bash is done, it waits a bounded
// time for settled(output), as the background receivers may still have to
// print, and then ends the receivers.
func runReadmeScript(t *testing.T, root, script string, settled func(string) bool) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("bash", script)
	cmd.Dir = root
	cmd.Env = childEnv()
	cmd.Stdout, cmd.Stderr = w, w // the child writes directly: Wait does not wait for the receivers' output
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatal(err)
	}
	w.Close()
	group := cmd.Process.Pid
	killGroup := func(sig syscall.Signal) { _ = syscall.Kill(-group, sig) } // the group may be gone already
	t.Cleanup(func() { killGroup(syscall.SIGKILL) })

	var out lockedOutput
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		rd := bufio.NewReader(r)
		buf := make([]byte, 32<<10)
		for {
			n, err := rd.Read(buf)
			out.add(string(buf[:n]))
			if err != nil {
				return
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Logf("bash: %v", err)
		}
	case <-time.After(3 * time.Minute):
		killGroup(syscall.SIGKILL)
		<-exited
		t.Errorf("the README's blocks were still running after 3 minutes")
	}
	for deadline := time.Now().Add(10 * time.Second); !settled(out.String()) && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	killGroup(syscall.SIGTERM) // the receivers the README started in the background
	select {
	case <-eof:
	case <-time.After(10 * time.Second):
		killGroup(syscall.SIGKILL)
		<-eof
	}
	return out.String()
}

// blockOutput is what the script printed while block i ran.
func blockOutput(out string, i int) string {
	start := strings.Index(out, fmt.Sprintf("%s%d ", readmeBlockMark, i))
	if start < 0 {
		return ""
	}
	rest := out[start:]
	if end := strings.Index(rest[1:], "\n=== README "); end >= 0 {
		return rest[:end+1]
	}
	return rest
}

// from is what the script printed from block i on.
func from(out string, i int) string {
	start := strings.Index(out, fmt.Sprintf("%s%d ", readmeBlockMark, i))
	if start < 0 {
		return ""
	}
	return out[start:]
}

// blockWith is the index of the first block that contains s.
func blockWith(t *testing.T, texts []string, s string) int {
	t.Helper()
	for i, text := range texts {
		if strings.Contains(text, s) {
			return i
		}
	}
	t.Fatalf("no README block calls %s any more: update the README test", s)
	return -1
}

// receiverLines are the lines `paymux listen-webhooks` printed: each
// webhook's first line and its indented body.
func receiverLines(out string) string {
	var b strings.Builder
	lines := strings.Split(out, "\n")
	for i, line := range lines {
		if strings.Contains(line, " webhook-id=") && i+1 < len(lines) {
			b.WriteString(line + "\n" + lines[i+1] + "\n")
		}
	}
	return b.String()
}

// checkFirstRunSample compares the README's sample of the first run's
// output, where ... stands for anything, with what paymux printed.
func checkFirstRunSample(t *testing.T, readme, printed string) {
	t.Helper()
	_, sample, ok := strings.Cut(readme, "```\npaymux first run.")
	if !ok {
		t.Fatal("README.md no longer shows the first run's output (a ``` block from \"paymux first run.\")")
	}
	sample, _, _ = strings.Cut("paymux first run."+sample, "\n```")
	lines := strings.Split(printed, "\n")
	for _, want := range strings.Split(sample, "\n") {
		if strings.TrimSpace(want) == "" {
			continue
		}
		parts := strings.Split(want, "...")
		for i := range parts {
			parts[i] = regexp.QuoteMeta(parts[i])
		}
		re := regexp.MustCompile(`^` + strings.Join(parts, `.*`) + `$`)
		i := slices.IndexFunc(lines, re.MatchString)
		if i < 0 {
			t.Errorf("README.md's first-run sample has a line paymux no longer prints (in this order):\n  %s\nprinted:\n%s", want, printed)
			return
		}
		lines = lines[i+1:]
	}
}
