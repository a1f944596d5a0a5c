package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMain lets the test binary be the command: with PAGECACHE_AS_COMMAND
// set it runs main's code on its arguments, so the tests run the real
// command as a process (also as another user) without a toolchain.
func TestMain(m *testing.M) {
	if os.Getenv("PAGECACHE_AS_COMMAND") != "" {
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "10": 10, "10K": 10 << 10, "3M": 3 << 20, "2GiB": 2 << 30, "1t": 1 << 40, "5kb": 5 << 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "K", "1X", "99999999999T", "1.5G"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) took it", bad)
		}
	}
}

// Usage errors exit 2 and say what was wrong, before any file is touched.
func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"stat"}, {"-m", "lots", "x"}, {"-i", "[", "x"}, {"-workers", "-1", "x"}, {"-0", "x"}, {"-nosuchflag", "x"}, {"bench"}, {"bench", "-large", "1K", "dir"}} {
		var out, errOut bytes.Buffer
		if code := run(args, strings.NewReader(""), &out, &errOut); code != 2 || errOut.Len() == 0 {
			t.Errorf("pagecache %q: exit %d, stderr %q; want 2 and a message", args, code, errOut.String())
		}
	}
}

// Flags may follow the paths, as vmtouch users write them; -b reads the
// paths from stdin.
func TestFlagsAnywhereAndPathLists(t *testing.T) {
	cfg, err := parse([]string{"touch", "a", "-v", "b", "-m", "1M", "c"}, &bytes.Buffer{})
	if err != nil || cfg.mode != "touch" || !cfg.verbose || cfg.maxSize != 1<<20 || strings.Join(cfg.paths, ",") != "a,b,c" {
		t.Fatalf("parse = %+v, %v", cfg, err)
	}
	got, err := readList("-", false, strings.NewReader("x\r\ny\n\nz"))
	if err != nil || strings.Join(got, ",") != "x,y,z" {
		t.Errorf("readList lines = %q, %v", got, err)
	}
	path := filepath.Join(t.TempDir(), "list")
	if err := os.WriteFile(path, []byte("with\nnewline\x00other\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = readList(path, true, nil)
	if err != nil || len(got) != 2 || got[0] != "with\nnewline" {
		t.Errorf("readList NUL = %q, %v", got, err)
	}
}

// vmtouch's sizes and percentages.
func TestVmtouchFormats(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 1023: "1023", 1024: "1K", 1159168: "1M", 110592: "108K", 3 << 30: "3G"} {
		if got := sizeString(n); got != want {
			t.Errorf("sizeString(%d) = %q, want %q", n, got, want)
		}
	}
	if got := percent(27, 283); got != " 9.54%" {
		t.Errorf("percent(27, 283) = %q", got)
	}
	if got := percent(0, 0); got != "" {
		t.Errorf("percent(0, 0) = %q", got)
	}
}
