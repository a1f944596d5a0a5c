//go:build linux

package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestTimingsKeepEveryRoundInOrder(t *testing.T) {
	k := 0.0
	next := func(step float64) variant {
		return func() (float64, error) { k += step; return k, nil }
	}
	tm, err := interleaveRounds(3, next(1), nil, next(10))
	if err != nil {
		t.Fatal(err)
	}
	// Each round starts one variant further on: 0 then 2 (1 is nil), then
	// 2 then 0, then 2 then 0: 1, 11 | 21, 22 | 32, 33.
	want := timings{{1, 22, 33}, nil, {11, 21, 32}}
	for i := range want {
		if len(tm[i]) != len(want[i]) {
			t.Fatalf("variant %d: %v, want %v", i, tm[i], want[i])
		}
		for r := range want[i] {
			if tm[i][r] != want[i][r] {
				t.Fatalf("variant %d: %v, want %v", i, tm[i], want[i])
			}
		}
	}
	if tm.best(0) != 1 || tm.best(1) != 0 || tm.best(2) != 11 {
		t.Errorf("best: %v %v %v, want 1 0 11", tm.best(0), tm.best(1), tm.best(2))
	}
	// Ratios pair round k with round k, not best with best.
	r := tm.ratios(2, 0)
	if len(r) != 3 || r[0] != 21.0/22 || r[1] != 32.0/33 || r[2] != 11 {
		t.Errorf("ratios %v, want [21/22 32/33 11]", r)
	}
	if q := quantile(r, 0.5); q != 32.0/33 {
		t.Errorf("median %v, want %v", q, 32.0/33)
	}
	if q := quantile(nil, 0.5); q != 0 {
		t.Errorf("quantile of nothing: %v", q)
	}
}

func TestMissedTargetSaysWhyAndMetOneDoesNot(t *testing.T) {
	base := cell{Name: "syscall.Mmap+Munmap", NS: 100}
	missed := newRow("map+unmap, 4 KiB file", "map", base, cell{Name: "MapRegion+Unmap", NS: 120}, 1.10)
	missed.missedBecause("the registry costs %dns", 20)
	met := newRow("map+unmap, 4 KiB anonymous", "map", base, cell{Name: "MapRegion+Unmap", NS: 105}, 1.10)
	met.missedBecause("must not show")
	none := newRow("first touch", "arena", base, cell{Name: "MapRegion", NS: 300}, 0)
	none.missedBecause("must not show either")
	if missed.Target.Why != "the registry costs 20ns" || met.Target.Why != "" || none.Target != nil {
		t.Fatalf("why: missed %q, met %q, no target %+v", missed.Target.Why, met.Target.Why, none.Target)
	}

	res := &results{Rows: []row{missed, met, none}}
	var out strings.Builder
	if err := res.writeTable(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	var whys []string
	for _, l := range lines {
		if strings.HasPrefix(l, "missed: ") {
			whys = append(whys, l)
		}
	}
	want := "missed: map+unmap, 4 KiB file, against syscall.Mmap+Munmap (1.20x, target <= 1.10x): the registry costs 20ns"
	if len(whys) != 1 || whys[0] != want {
		t.Errorf("table's missed lines:\n%s\nwant one:\n%s", strings.Join(whys, "\n"), want)
	}

	var js strings.Builder
	if err := res.writeJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back results
	if err := json.Unmarshal([]byte(js.String()), &back); err != nil {
		t.Fatal(err)
	}
	if back.Rows[0].Target.Why != missed.Target.Why || back.Rows[1].Target.Why != "" {
		t.Errorf("JSON lost the why: %+v, %+v", back.Rows[0].Target, back.Rows[1].Target)
	}
}

// TestPairedRowTakesMediansNotLuckyRounds: one lucky baseline round would
// make the fastest rounds' ratio 1.5x; rounds run back to back say 1.0x.
func TestPairedRowTakesMediansNotLuckyRounds(t *testing.T) {
	tm := timings{{100, 150, 150, 150, 150}, {150, 150, 150, 150, 150}}
	r := pairedRow("map+unmap", "map", tm, 0, 1, cell{Name: "base"}, cell{Name: "ours"}, 1.10)
	if !r.Paired || r.Ratio != 1 || r.Base.NS != 150 || r.Ours.NS != 150 || !r.Target.Met {
		t.Fatalf("paired row %+v, target %+v; want medians 150 and 150, ratio 1, met", r, r.Target)
	}
	if best := newRow("map+unmap", "map", cell{NS: tm.best(0)}, cell{NS: tm.best(1)}, 1.10); best.Ratio != 1.5 || best.Target.Met {
		t.Fatalf("the fastest rounds' ratio is %v; the test wants it to differ", best.Ratio)
	}
	na := pairedRow("map+unmap", "map", tm, 0, 1, cell{Name: "C", NA: "n/a (no cc)"}, cell{Name: "ours"}, 0)
	if na.Paired || na.Ratio != 0 || na.Base.NS != 0 {
		t.Fatalf("a row whose baseline was not measured: %+v", na)
	}

	var out strings.Builder
	if err := (&results{Rows: []row{r, na}}).writeTable(&out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "1.00x*") || !strings.Contains(out.String(), "\n* the median round of each side") {
		t.Errorf("the table does not mark the paired ratio and say what it is:\n%s", out.String())
	}
}
