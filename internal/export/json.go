package export

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"
	"time"
)

type jsonWriter struct {
	w     *bufio.Writer
	cols  []Column
	keys  [][]byte
	lines bool
	n     int
	err   error
}

// NewJSON writes a JSON array of objects (lines false) or JSON Lines, one object per line (lines true). Keys
// follow the columns' order; times are RFC 3339 in UTC, JSON columns are embedded as JSON.
func NewJSON(out io.Writer, cols []Column, lines bool) Writer {
	j := &jsonWriter{w: bufio.NewWriterSize(out, 64<<10), cols: cols, lines: lines}
	for _, c := range cols {
		k, _ := json.Marshal(c.Key)
		j.keys = append(j.keys, append(k, ':'))
	}
	if !lines {
		_, j.err = j.w.WriteString("[")
	}
	return j
}

func (j *jsonWriter) Row(values []any) error {
	if j.err != nil {
		return j.err
	}
	w := j.w
	if !j.lines && j.n > 0 {
		w.WriteByte(',')
	}
	if !j.lines {
		w.WriteByte('\n')
	}
	j.n++
	w.WriteByte('{')
	for i, c := range j.cols {
		if i > 0 {
			w.WriteByte(',')
		}
		w.Write(j.keys[i])
		var v any
		if i < len(values) {
			v = values[i]
		}
		if err := j.value(c, v); err != nil {
			j.err = err
			return err
		}
	}
	w.WriteByte('}')
	if j.lines {
		w.WriteByte('\n')
	}
	return nil
}

func (j *jsonWriter) value(c Column, v any) error {
	w := j.w
	switch x := v.(type) {
	case nil:
		_, err := w.WriteString("null")
		return err
	case int64:
		_, err := w.WriteString(strconv.FormatInt(x, 10))
		return err
	case bool:
		_, err := w.WriteString(strconv.FormatBool(x))
		return err
	case time.Time:
		if x.IsZero() {
			_, err := w.WriteString("null")
			return err
		}
		_, err := w.WriteString(`"` + x.UTC().Format(time.RFC3339Nano) + `"`)
		return err
	case string:
		if c.Kind == JSON {
			if x == "" {
				_, err := w.WriteString("null")
				return err
			}
			if json.Valid([]byte(x)) {
				_, err := w.WriteString(x)
				return err
			}
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

func (j *jsonWriter) Close() error {
	if j.err != nil {
		return j.err
	}
	if !j.lines {
		if j.n > 0 {
			j.w.WriteByte('\n')
		}
		j.w.WriteString("]\n")
	}
	return j.w.Flush()
}
