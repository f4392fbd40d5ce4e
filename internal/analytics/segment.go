package analytics

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
)

// A segment is the compact form of one workspace's events of one type on one UTC day, for readers that need
// only who did what when (funnels, retention): no data, no ids. Layout, all integers varints:
//
//	uvarint version (1)
//	uvarint contacts, then per contact: uvarint length, bytes   (in order of first appearance)
//	uvarint events, then per event, in (ts, rowid) order:
//	    uvarint contact index, uvarint ts - previous ts, varint rowid - previous rowid
//
// The first event's deltas are from 0. Times never decrease (events are sorted by time first), so their delta
// is unsigned; rowids of events in time order can go either way.

// SegmentEvent is one event going into a segment. Contact is the contact id; events without one are left out.
type SegmentEvent struct {
	Contact   string
	TS, RowID int64
}

const segmentVersion = 1

// ErrSegment is a segment that cannot be decoded.
var ErrSegment = errors.New("analytics: corrupt segment")

// AppendSegment sorts evs by (TS, RowID) and appends their segment to dst. It returns the extended buffer and
// the number of events encoded (those with a contact).
func AppendSegment(dst []byte, evs []SegmentEvent) ([]byte, int) {
	slices.SortFunc(evs, func(a, b SegmentEvent) int { return cmp.Or(cmp.Compare(a.TS, b.TS), cmp.Compare(a.RowID, b.RowID)) })
	index := make(map[string]uint64, len(evs)/2+1)
	var order []string
	n := 0
	for _, e := range evs {
		if e.Contact == "" {
			continue
		}
		n++
		if _, ok := index[e.Contact]; !ok {
			index[e.Contact] = uint64(len(order))
			order = append(order, e.Contact)
		}
	}
	dst = binary.AppendUvarint(dst, segmentVersion)
	dst = binary.AppendUvarint(dst, uint64(len(order)))
	for _, c := range order {
		dst = binary.AppendUvarint(dst, uint64(len(c)))
		dst = append(dst, c...)
	}
	dst = binary.AppendUvarint(dst, uint64(n))
	var ts, rowid int64
	for _, e := range evs {
		if e.Contact == "" {
			continue
		}
		dst = binary.AppendUvarint(dst, index[e.Contact])
		dst = binary.AppendUvarint(dst, uint64(e.TS-ts))
		dst = binary.AppendVarint(dst, e.RowID-rowid)
		ts, rowid = e.TS, e.RowID
	}
	return dst, n
}

// SegmentDecoder reads segments without allocating per event: Reset parses the header and contact table
// (contacts are sub-slices of the data, valid while it is), then Next and Event walk the events in (ts, rowid)
// order. One decoder can be reused for many segments.
//
//	for err := d.Reset(data); err == nil && d.Next(); { c, ts, rowid := d.Event(); ... }
//	if d.Err() != nil { ... }
type SegmentDecoder struct {
	contacts  [][]byte
	rest      []byte
	left      int // events not yet read
	contact   int
	ts, rowid int64
	err       error
}

// Reset starts decoding data.
func (d *SegmentDecoder) Reset(data []byte) error {
	d.contacts, d.rest, d.left, d.contact, d.ts, d.rowid, d.err = d.contacts[:0], nil, 0, 0, 0, 0, nil
	p := data
	next := func() uint64 {
		v, k := binary.Uvarint(p)
		if k <= 0 {
			d.err = ErrSegment
			return 0
		}
		p = p[k:]
		return v
	}
	if v := next(); d.err != nil || v != segmentVersion {
		d.err = ErrSegment
		return d.err
	}
	nc := next()
	if d.err != nil || nc > uint64(len(p)) { // every contact takes at least one byte
		d.err = ErrSegment
		return d.err
	}
	for range nc {
		l := next()
		if d.err != nil || l > uint64(len(p)) {
			d.err = ErrSegment
			return d.err
		}
		d.contacts = append(d.contacts, p[:l:l])
		p = p[l:]
	}
	ne := next()
	if d.err != nil || ne > uint64(len(p))/3 { // every event takes at least three bytes
		d.err = ErrSegment
		return d.err
	}
	d.rest, d.left = p, int(ne)
	return nil
}

// Len is the number of events of the segment.
func (d *SegmentDecoder) Len() int { return d.left }

// Contacts is the segment's contact table; Event's contact indexes it.
func (d *SegmentDecoder) Contacts() [][]byte { return d.contacts }

// Next advances to the next event; false at the end or on corrupt data (see Err).
func (d *SegmentDecoder) Next() bool {
	if d.left == 0 || d.err != nil {
		return false
	}
	p := d.rest
	c, k1 := binary.Uvarint(p)
	if k1 <= 0 {
		return d.fail()
	}
	dt, k2 := binary.Uvarint(p[k1:])
	if k2 <= 0 {
		return d.fail()
	}
	dr, k3 := binary.Varint(p[k1+k2:])
	if k3 <= 0 || c >= uint64(len(d.contacts)) {
		return d.fail()
	}
	d.rest = p[k1+k2+k3:]
	d.left--
	d.contact, d.ts, d.rowid = int(c), d.ts+int64(dt), d.rowid+dr
	return true
}

func (d *SegmentDecoder) fail() bool {
	d.err, d.left = ErrSegment, 0
	return false
}

// Event is the current event: its index in Contacts, time (unix ms) and rowid.
func (d *SegmentDecoder) Event() (contact int, ts, rowid int64) { return d.contact, d.ts, d.rowid }

// Err is the decoding error, if any; trailing bytes after the last event are one.
func (d *SegmentDecoder) Err() error {
	if d.err == nil && d.left == 0 && len(d.rest) > 0 {
		return ErrSegment
	}
	return d.err
}
