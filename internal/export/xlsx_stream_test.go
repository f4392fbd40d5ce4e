package export

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
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
	if v, _ := f.GetCellValue("Export", "A2"); v != "x<y & \"z\"  🙂" {
		t.Fatalf("text cell: %q", v)
	}
	if v, _ := f.GetCellValue("Export", "A1"); v != "A & <B>" {
		t.Fatalf("header: %q", v)
	}
}

// Memory stays flat: writing 200,000 rows allocates no more live heap than writing 20,000.
func TestXLSXMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a large workbook")
	}
	peak := func(rows int) uint64 {
		w, err := NewXLSX(io.Discard, []Column{{Title: "Name"}, {Title: "N", Kind: Int}, {Title: "At", Kind: Time}})
		if err != nil {
			t.Fatal(err)
		}
		var highest uint64
		var ms runtime.MemStats
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range rows {
			if err := w.Row([]any{"Customer with a name", i, at}); err != nil {
				t.Fatal(err)
			}
			if i%20_000 == 0 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				highest = max(highest, ms.HeapAlloc)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return highest
	}
	small, large := peak(20_000), peak(200_000)
	if large > small+8<<20 {
		t.Fatalf("live heap grew with the row count: %d KB at 20k rows, %d KB at 200k", small>>10, large>>10)
	}
}
