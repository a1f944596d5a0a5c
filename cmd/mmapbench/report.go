//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// results is everything one run measured.
type results struct {
	Machine machine  `json:"machine"`
	Size    int      `json:"size_bytes"`
	Rounds  int      `json:"rounds"`
	Rows    []row    `json:"rows"`
	Notes   []string `json:"notes,omitempty"`
}

// row is one measurement: a baseline and this package doing the same work.
type row struct {
	What   string  `json:"measurement"`
	Unit   string  `json:"unit"` // what one operation is; times are per operation
	Base   cell    `json:"baseline"`
	Ours   cell    `json:"ours"`
	Ratio  float64 `json:"ratio,omitempty"` // ours/base; below 1 is faster
	Target *target `json:"target,omitempty"`
	// Paired: the cells are median rounds and the ratio is the median of
	// the per-round ratios (pairedRow), not the fastest rounds' ratio.
	Paired bool `json:"paired_median,omitempty"`
}

// cell is one side of a row.
type cell struct {
	Name string  `json:"name"`
	NS   float64 `json:"ns,omitempty"`  // best round, nanoseconds per operation
	NA   string  `json:"na,omitempty"`  // why it was not measured
	Got  string  `json:"got,omitempty"` // what the mapping got, where it matters
}

// target is a ratio the project aims for, whether this run met it, and,
// where it did not, what this run measured that explains why.
type target struct {
	MaxRatio float64 `json:"max_ratio"`
	Met      bool    `json:"met"`
	Why      string  `json:"why_missed,omitempty"`
}

// missedBecause records why r's target was missed, when it was.
func (r *row) missedBecause(format string, args ...any) {
	if r.Target != nil && !r.Target.Met && r.Ratio > 0 {
		r.Target.Why = fmt.Sprintf(format, args...)
	}
}

// pairedRow is newRow for work whose cost moves between states that
// outlast a round, as the kernel's map+unmap does on a VM: the fastest
// rounds of the two sides may come from different states, while rounds
// run back to back share one. So the cells are the median rounds, and the
// ratio is the median of the per-round ratios of variants ours and base.
func pairedRow(what, unit string, t timings, base, ours int, baseCell, oursCell cell, maxRatio float64) row {
	if baseCell.NA == "" {
		baseCell.NS = t.median(base)
	}
	if oursCell.NA == "" {
		oursCell.NS = t.median(ours)
	}
	r := newRow(what, unit, baseCell, oursCell, maxRatio)
	if r.Ratio > 0 {
		r.Ratio, r.Paired = quantile(t.ratios(ours, base), 0.5), true
		if r.Target != nil {
			r.Target.Met = r.Ratio <= maxRatio
		}
	}
	return r
}

// newRow fills in the ratio and checks the target (0 for none).
func newRow(what, unit string, base, ours cell, maxRatio float64) row {
	r := row{What: what, Unit: unit, Base: base, Ours: ours}
	if base.NA == "" && ours.NA == "" && base.NS > 0 {
		r.Ratio = ours.NS / base.NS
		if maxRatio > 0 {
			r.Target = &target{MaxRatio: maxRatio, Met: r.Ratio <= maxRatio}
		}
	} else if maxRatio > 0 {
		r.Target = &target{MaxRatio: maxRatio}
	}
	return r
}

func (res *results) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

func (res *results) writeTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintln(&b)
	for _, l := range res.Machine.lines() {
		fmt.Fprintln(&b, l)
	}
	fmt.Fprintf(&b, "sizes    file and arenas %s; each cell is the fastest of several rounds (-rounds %d scales them), baseline and this package interleaved; * marks median rounds and the median of per-round ratios\n\n",
		bytesString(res.Size), res.Rounds)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measurement\tper\tbaseline\t\tthis package\t\tours/base\ttarget\t")
	last := ""
	for _, r := range res.Rows {
		what := r.What
		if what == last {
			what = `  "`
		}
		last = r.What
		ratio, tgt := "", ""
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
			if r.Paired {
				ratio += "*"
			}
		}
		if r.Target != nil {
			tgt = fmt.Sprintf("<= %.2fx", r.Target.MaxRatio)
			switch {
			case r.Ratio == 0:
				tgt += " n/a"
			case r.Target.Met:
				tgt += " met"
			default:
				tgt += " MISSED"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", what, r.Unit,
			r.Base.Name, r.Base.value(), r.Ours.name(), r.Ours.value(), ratio, tgt)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(&b, "\nours/base is this package's time over the baseline's: below 1 is faster.")
	for _, r := range res.Rows {
		if r.Paired {
			fmt.Fprintln(&b, "* the median round of each side, and the median of the per-round ratios of rounds run back to back: the kernel's cost of a map+unmap moves between states that outlast a round, so the fastest rounds of two sides can come from different states.")
			break
		}
	}
	for _, r := range res.Rows {
		if r.Target != nil && r.Target.Why != "" {
			fmt.Fprintf(&b, "missed: %s, against %s (%.2fx, target <= %.2fx): %s\n", r.What, r.Base.Name, r.Ratio, r.Target.MaxRatio, r.Target.Why)
		}
	}
	for _, n := range res.Notes {
		fmt.Fprintln(&b, "note: "+n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (c cell) name() string {
	if c.Got != "" {
		return c.Name + " [" + c.Got + "]"
	}
	return c.Name
}

func (c cell) value() string {
	if c.NA != "" {
		return c.NA
	}
	return nsString(c.NS)
}

// nsString writes ns with three significant digits in a fitting unit.
func nsString(ns float64) string {
	units := []struct {
		div  float64
		name string
	}{{1e9, "s"}, {1e6, "ms"}, {1e3, "µs"}, {1, "ns"}}
	for _, u := range units {
		if ns >= u.div || u.div == 1 {
			v := ns / u.div
			prec := 2
			if v >= 100 {
				prec = 0
			} else if v >= 10 {
				prec = 1
			}
			return fmt.Sprintf("%.*f%s", prec, math.Round(v*math.Pow10(prec))/math.Pow10(prec), u.name)
		}
	}
	return fmt.Sprintf("%.0fns", ns)
}
