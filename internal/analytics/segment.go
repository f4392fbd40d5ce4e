package analytics

import (
	"cmp"
	"encoding/binary"
	"errors"
	"slices"
)

// A segment is the compact form of one workspace's events of one type on one UTC day, for readers that need
// only who did what when (funnels, retention): no data, no ids. Contacts are numbers (the analytics package
// numbers each workspace's contacts densely from 0), so a reader indexes arrays with them instead of hashing
// strings. Layout, all integers varints:
//
//	uvarint version (1)
//	uvarint events, then per event, in (ts, rowid) order:
//	    uvarint contact number, uvarint ts - previous ts, varint rowid - previous rowid
//
// The first event's deltas are from 0. Times never decrease (events are sorted by time first), so their delta
// is unsigned; rowids of events in time order can go either way.

// SegmentEvent is one event of a segment.
type SegmentEvent struct {
	Contact   uint32 // the contact's number
	TS, RowID int64
}

const segmentVersion = 1

// ErrSegment is a segment that cannot be decoded.
var ErrSegment = errors.New("analytics: corrupt segment")

// AppendSegment sorts evs by (TS, RowID) and appends their segment to dst.
func AppendSegment(dst []byte, evs []SegmentEvent) []byte {
	slices.SortFunc(evs, func(a, b SegmentEvent) int { return cmp.Or(cmp.Compare(a.TS, b.TS), cmp.Compare(a.RowID, b.RowID)) })
	dst = binary.AppendUvarint(dst, segmentVersion)
	dst = binary.AppendUvarint(dst, uint64(len(evs)))
	var ts, rowid int64
	for _, e := range evs {
		dst = binary.AppendUvarint(dst, uint64(e.Contact))
		dst = binary.AppendUvarint(dst, uint64(e.TS-ts))
		dst = binary.AppendVarint(dst, e.RowID-rowid)
		ts, rowid = e.TS, e.RowID
	}
	return dst
}

// SegmentDecoder reads segments without allocating: Reset parses the header, then Next and Event walk the
// events in (ts, rowid) order. One decoder can be reused for many segments.
//
//	for err := d.Reset(data); err == nil && d.Next(); { c, ts, rowid := d.Event(); ... }
//	if d.Err() != nil { ... }
type SegmentDecoder struct {
	rest      []byte
	left      int // events not yet read
	contact   uint32
	ts, rowid int64
	err       error
}

// Reset starts decoding data.
func (d *SegmentDecoder) Reset(data []byte) error {
	*d = SegmentDecoder{}
	v, k := binary.Uvarint(data)
	if k <= 0 || v != segmentVersion {
		d.err = ErrSegment
		return d.err
	}
	n, k2 := binary.Uvarint(data[k:])
	if k2 <= 0 || n > uint64(len(data)-k-k2)/3 { // every event takes at least three bytes
		d.err = ErrSegment
		return d.err
	}
	d.rest, d.left = data[k+k2:], int(n)
	return nil
}

// Len is the number of events not read yet (all of them after Reset).
func (d *SegmentDecoder) Len() int { return d.left }

// Next advances to the next event; false at the end or on corrupt data (see Err).
func (d *SegmentDecoder) Next() bool {
	if d.left == 0 || d.err != nil {
		return false
	}
	p := d.rest
	c, k1 := binary.Uvarint(p)
	if k1 <= 0 || c > 1<<32-1 {
		return d.fail()
	}
	dt, k2 := binary.Uvarint(p[k1:])
	if k2 <= 0 {
		return d.fail()
	}
	dr, k3 := binary.Varint(p[k1+k2:])
	if k3 <= 0 {
		return d.fail()
	}
	d.rest = p[k1+k2+k3:]
	d.left--
	d.contact, d.ts, d.rowid = uint32(c), d.ts+int64(dt), d.rowid+dr
	return true
}

func (d *SegmentDecoder) fail() bool {
	d.err, d.left = ErrSegment, 0
	return false
}

// Event is the current event: its contact's number, time (unix ms) and rowid.
func (d *SegmentDecoder) Event() (contact uint32, ts, rowid int64) { return d.contact, d.ts, d.rowid }

// Err is the decoding error, if any; trailing bytes after the last event are one.
func (d *SegmentDecoder) Err() error {
	if d.err == nil && d.left == 0 && len(d.rest) > 0 {
		return ErrSegment
	}
	return d.err
}
