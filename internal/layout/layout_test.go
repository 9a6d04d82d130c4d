// Package layout holds the tests that keep paymux's package layout as
// docs/architecture.md draws it: domain packages free of transport, every
// package saying what it owns, server/ kept to transport.
package layout

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/paymux/paymux"

// domain are the packages that own paymux's aggregates and their runners.
var domain = []string{"payment", "billing", "webhook", "account", "calllog"}

// transport is what a domain package never imports: surfaces map domain
// results to wire formats, never the other way round.
var transport = []string{
	"connectrpc.com/",
	module + "/gen/",
	module + "/server",
	module + "/surface/",
	module + "/app",
}

type listed struct {
	ImportPath string
	Dir        string
	Deps       []string
	GoFiles    []string
	Error      *struct{ Err string }
}

func goList(t *testing.T, args ...string) []listed {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pkgs []listed
	dec := json.NewDecoder(out)
	for {
		var p listed
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("go list: %v", err)
	}
	return pkgs
}

func TestDomainPackagesImportNoTransport(t *testing.T) {
	var paths []string
	for _, d := range domain {
		paths = append(paths, "./"+d)
	}
	pkgs := goList(t, append([]string{"-deps=false"}, paths...)...)
	if len(pkgs) != len(domain) {
		t.Fatalf("go list found %d of the %d domain packages", len(pkgs), len(domain))
	}
	for _, p := range pkgs {
		if p.Error != nil {
			t.Fatalf("%s: %s", p.ImportPath, p.Error.Err)
		}
		withDeps := goList(t, "-deps", "./"+strings.TrimPrefix(p.ImportPath, module+"/"))
		for _, dep := range withDeps {
			for _, bad := range transport {
				if dep.ImportPath == strings.TrimSuffix(bad, "/") || strings.HasPrefix(dep.ImportPath, bad) {
					t.Errorf("%s depends on %s: a domain package takes Go inputs and returns ent entities and apierr errors; the surfaces map them", p.ImportPath, dep.ImportPath)
				}
			}
		}
	}
}

// TestEveryPackageSaysWhatItOwns: each package of paymux's own (generated
// code aside) opens with a doc comment.
func TestEveryPackageSaysWhatItOwns(t *testing.T) {
	for _, p := range goList(t, "./...") {
		rel := strings.TrimPrefix(p.ImportPath, module)
		rel = strings.TrimPrefix(rel, "/")
		if rel == "" || strings.HasPrefix(rel, "gen/") || rel == "gen" || strings.HasPrefix(rel, "ent") && rel != "ent/schema" && !strings.HasPrefix(rel, "ent/schema/") {
			continue
		}
		documented := false
		for _, f := range p.GoFiles {
			file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if file.Doc != nil && strings.TrimSpace(file.Doc.Text()) != "" {
				documented = true
				break
			}
		}
		if !documented && len(p.GoFiles) > 0 {
			t.Errorf("package %s has no doc comment saying what it owns", p.ImportPath)
		}
	}
}

// serverLimit is what transport takes today: the chain, the gateway hop,
// Idempotency-Key, error mapping, and thin handlers with the proto mapping
// of eleven services (DepositService's thirteen methods took about 400
// lines; ConsoleService and the chain's console-session step about 260,
// the sessions themselves living in package console). Domain rules belong in their packages; a new surface belongs in
// surface/. The limit holds the line so that server/ cannot grow back into
// the domain.
const serverLimit = 4450

func TestServerIsTransport(t *testing.T) {
	pkgs := goList(t, "./server")
	lines := 0
	for _, f := range pkgs[0].GoFiles {
		b, err := os.ReadFile(filepath.Join(pkgs[0].Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		lines += strings.Count(string(b), "\n")
	}
	t.Logf("server/: %d lines of non-test code", lines)
	if lines > serverLimit {
		t.Errorf("server/ holds %d lines of non-test code, more than %d: domain work has crept into the transport", lines, serverLimit)
	}
}

// entWrite finds a write through an ent client: tx.Payment.Create(), ...
var entWrite = regexp.MustCompile(`\.([A-Z]\w*)\.(Create|CreateBulk|Update|UpdateOne|UpdateOneID|Delete|DeleteOne|DeleteOneID)\(`)

// TestServerWritesThroughDomainServices: handlers may read through ent,
// but every write goes through the owning domain service. The one table
// the transport owns is the Idempotency-Key records.
func TestServerWritesThroughDomainServices(t *testing.T) {
	pkgs := goList(t, "./server", "./surface/...")
	for _, p := range pkgs {
		for _, f := range p.GoFiles {
			b, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			for i, line := range strings.Split(string(b), "\n") {
				for _, m := range entWrite.FindAllStringSubmatch(line, -1) {
					if m[1] != "IdempotencyRecord" {
						t.Errorf("%s/%s:%d writes %s through ent: call its domain service", p.ImportPath, f, i+1, m[1])
					}
				}
			}
		}
	}
}
