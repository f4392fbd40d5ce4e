package export

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// Every part of the workbook is well-formed XML, and odd text (markup, control characters, emoji) survives.
func TestXLSXPartsAreWellFormed(t *testing.T) {
	var out bytes.Buffer
	w, err := NewXLSX(&out, []Column{{Key: "a", Title: "A & <B>", Kind: Text}, {Key: "b", Title: "When", Kind: Time}})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Row([]any{"x<y & \"z\" \x01 🙂", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, _ := f.Open()
		d := xml.NewDecoder(rc)
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s is not well-formed: %v", f.Name, err)
			}
		}
		rc.Close()
	}
	f, err := excelize.OpenReader(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if v, _ := f.GetCellValue("Export", "A2"); v != "x<y & \"z\" \uFFFD 🙂" {
		t.Fatalf("text cell: %q", v)
	}
	if v, _ := f.GetCellValue("Export", "A1"); v != "A & <B>" {
		t.Fatalf("header: %q", v)
	}
}

// Memory stays flat: once excelize spills rows to its temporary file (past 16 MB of sheet XML), writing
// 400,000 rows holds no more live heap than writing 150,000, while the rows are written and while the
// archive is compressed into the output.
func TestXLSXMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a large workbook")
	}
	peak := func(rows int) uint64 {
		out := &heapProbe{}
		w, err := NewXLSX(out, []Column{{Title: "Name"}, {Title: "N", Kind: Int}, {Title: "At", Kind: Time}})
		if err != nil {
			t.Fatal(err)
		}
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range rows {
			// Text that compresses poorly, so the archive itself is large.
			if err := w.Row([]any{fmt.Sprintf("Customer %x", uint64(i)*0x9E3779B97F4A7C15), i, at}); err != nil {
				t.Fatal(err)
			}
			if i%20_000 == 0 {
				out.sample()
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return out.highest
	}
	small, large := peak(150_000), peak(400_000)
	if large > small+4<<20 {
		t.Fatalf("live heap grew with the row count: %d KB at 150k rows, %d KB at 400k", small>>10, large>>10)
	}
}

// heapProbe discards what is written to it and samples the live heap every 2 MB written.
type heapProbe struct {
	written, next int
	highest       uint64
}

func (p *heapProbe) Write(b []byte) (int, error) {
	p.written += len(b)
	if p.written >= p.next {
		p.sample()
		p.next = p.written + 2<<20
	}
	return len(b), nil
}

func (p *heapProbe) sample() {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	p.highest = max(p.highest, ms.HeapAlloc)
}
