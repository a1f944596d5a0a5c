package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hugemap/mmap/pagecache"
)

// The output: vmtouch's summary, -v's bars, -json.

// summary is the -json output.
type summary struct {
	Mode          string  `json:"mode"`
	Files         int64   `json:"files"`
	Directories   int64   `json:"directories"`
	Pages         int64   `json:"pages"`
	ResidentPages int64   `json:"resident_pages"` // -1: not counted (evict without -v)
	Bytes         int64   `json:"bytes"`
	ResidentBytes int64   `json:"resident_bytes"`
	PageSize      int64   `json:"page_size"`
	PMDMapped     int64   `json:"pmd_mapped_bytes,omitempty"`
	Elapsed       float64 `json:"elapsed_seconds"`
	Errors        int64   `json:"errors"`
	Warnings      int64   `json:"warnings"`
	Entries       []entry `json:"entries,omitempty"`
}

func (s *session) report(w io.Writer, dirs int64, elapsed time.Duration) error {
	t := &s.tot
	sum := summary{
		Mode: s.cfg.mode, Files: t.files.Load(), Directories: dirs,
		Pages: t.pages.Load(), ResidentPages: t.resident.Load(),
		PageSize: pageSize, PMDMapped: t.pmd.Load(),
		Elapsed: elapsed.Seconds(), Errors: t.errors.Load(), Warnings: t.warnings.Load(),
		Entries: s.ents,
	}
	sum.Bytes, sum.ResidentBytes = sum.Pages*pageSize, sum.ResidentPages*pageSize
	if t.unknown.Load() {
		sum.ResidentPages, sum.ResidentBytes = -1, -1
	}
	if s.cfg.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	var b strings.Builder
	for _, e := range s.ents {
		fmt.Fprintf(&b, "%s\n%s %d/%d\n", e.Path, e.bar, e.Resident, e.Pages)
	}
	if len(s.ents) > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%16s: %d\n%16s: %d\n", "Files", sum.Files, "Directories", sum.Directories)
	switch s.cfg.mode {
	case "touch":
		fmt.Fprintf(&b, "%16s: %d (%s)\n", "Touched Pages", sum.Pages, sizeString(sum.Bytes))
	case "evict":
		fmt.Fprintf(&b, "%16s: %d (%s)\n", "Evicted Pages", sum.Pages, sizeString(sum.Bytes))
	case "lock":
		fmt.Fprintf(&b, "%16s: %d (%s)\n", "Locked Pages", sum.ResidentPages, sizeString(sum.ResidentBytes))
	case "refold":
		fmt.Fprintf(&b, "%16s: %d (%s)\n", "Refolded Pages", sum.Pages, sizeString(sum.Bytes))
		fmt.Fprintf(&b, "%16s: %s%s\n", "PMD-mapped", sizeString(sum.PMDMapped), percent(sum.PMDMapped, sum.Bytes))
	}
	if s.cfg.mode != "lock" && sum.ResidentPages >= 0 {
		fmt.Fprintf(&b, "%16s: %d/%d  %s/%s %s\n", "Resident Pages", sum.ResidentPages, sum.Pages,
			sizeString(sum.ResidentBytes), sizeString(sum.Bytes), percent(sum.ResidentPages, sum.Pages))
	}
	fmt.Fprintf(&b, "%16s: %s seconds\n", "Elapsed", strconv.FormatFloat(sum.Elapsed, 'g', 3, 64))
	_, err := io.WriteString(w, b.String())
	return err
}

// percent is part of whole as vmtouch prints it (three digits), or
// nothing for an empty whole.
func percent(part, whole int64) string {
	if whole == 0 {
		return ""
	}
	return " " + strconv.FormatFloat(100*float64(part)/float64(whole), 'g', 3, 64) + "%"
}

// sizeString is a byte count as vmtouch prints it: whole units of 1024,
// rounded down.
func sizeString(n int64) string {
	units := []string{"", "K", "M", "G", "T", "P"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	return strconv.FormatInt(n, 10) + units[i]
}

// barWidth is the most columns a residency bar has.
const barWidth = 60

// bar draws which parts of a file are cached, vmtouch's way: a column per
// part, 'O' where all of it is resident, 'o' where some, ' ' where none.
// Each column is one Stat of its range.
func bar(f *os.File, e entry) string {
	cols := int(min(e.Pages, barWidth))
	if cols == 0 || e.Error != "" {
		return "[]"
	}
	b := make([]byte, cols)
	for c := range cols {
		lo := e.Pages * int64(c) / int64(cols) * pageSize
		hi := e.Pages * int64(c+1) / int64(cols) * pageSize
		r, err := pagecache.Stat(f, lo, hi-lo)
		switch {
		case err != nil || r.Resident == 0:
			b[c] = ' '
		case r.Resident == r.Pages:
			b[c] = 'O'
		default:
			b[c] = 'o'
		}
	}
	return "[" + string(b) + "]"
}
