package export

import (
	"bufio"
	"io"

	"github.com/playgram/playgram/internal/csvsafe"
)

type csvWriter struct {
	buf *bufio.Writer
	w   *csvsafe.Writer
	row []string
}

// NewCSV writes RFC 4180 CSV with a UTF-8 BOM and CRLF line ends (what Excel opens correctly), a header row
// of titles, and formula-like cells neutralised.
func NewCSV(out io.Writer, cols []Column) (Writer, error) {
	buf := bufio.NewWriterSize(out, 64<<10)
	c := &csvWriter{buf: buf, w: csvsafe.NewWriter(buf, csvsafe.Options{UseCRLF: true, BOM: true}), row: make([]string, len(cols))}
	for i, col := range cols {
		c.row[i] = col.Title
	}
	return c, c.w.Write(c.row)
}

func (c *csvWriter) Row(values []any) error {
	for i := range c.row {
		c.row[i] = ""
		if i < len(values) {
			c.row[i] = text(values[i], nil)
		}
	}
	return c.w.Write(c.row)
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.buf.Flush()
}
