package geo

import (
	"math"
	"slices"
	"testing"
	"time"
)

var (
	berlin  = Location{52.5200, 13.4050}
	potsdam = Location{52.3906, 13.0645} // ~27 km from Berlin
	paris   = Location{48.8566, 2.3522}
	newYork = Location{40.7128, -74.0060}
	london  = Location{51.5074, -0.1278}
)

func TestHaversine(t *testing.T) {
	t.Parallel()

	scenarios := []struct {
		name string
		a, b Location
		km   float64
	}{
		{"same point", berlin, berlin, 0},
		{"Berlin-Paris", berlin, paris, 878},
		{"London-New York", london, newYork, 5570},
		{"Berlin-Potsdam", berlin, potsdam, 27},
		{"antipodes", Location{0, 0}, Location{0, 180}, math.Pi * EarthRadiusKm},
		{"pole to pole", Location{90, 0}, Location{-90, 0}, math.Pi * EarthRadiusKm},
		{"across the date line", Location{0, 179.5}, Location{0, -179.5}, 111.2},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			got := Haversine(s.a.Lat, s.a.Lng, s.b.Lat, s.b.Lng)
			if math.Abs(got-s.km) > math.Max(1, s.km*0.005) {
				t.Fatalf("expected %.1f km, got %.1f", s.km, got)
			}
			if back := Haversine(s.b.Lat, s.b.Lng, s.a.Lat, s.a.Lng); math.Abs(back-got) > 1e-9 {
				t.Fatalf("not symmetric: %v vs %v", got, back)
			}
		})
	}
}

func TestImpliedSpeedKmh(t *testing.T) {
	t.Parallel()

	t0 := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	at := func(l Location, d time.Duration) Point { return Point{l.Lat, l.Lng, t0.Add(d)} }

	scenarios := []struct {
		name string
		a, b Point
		kmh  float64
	}{
		{"Berlin to Paris in one hour", at(berlin, 0), at(paris, time.Hour), 878},
		{"order does not matter", at(paris, time.Hour), at(berlin, 0), 878},
		{"Berlin to Paris in two hours", at(berlin, 0), at(paris, 2*time.Hour), 439},
		{"same place same time", at(berlin, 0), at(berlin, 0), 0},
		{"same place later", at(berlin, 0), at(berlin, time.Hour), 0},
		{"two places at once", at(berlin, 0), at(paris, 0), math.Inf(1)},
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			got := ImpliedSpeedKmh(s.a, s.b)
			if math.IsInf(s.kmh, 1) {
				if !math.IsInf(got, 1) {
					t.Fatalf("expected +Inf, got %v", got)
				}
				return
			}
			if math.Abs(got-s.kmh) > math.Max(0.5, s.kmh*0.005) {
				t.Fatalf("expected %.1f km/h, got %.1f", s.kmh, got)
			}
		})
	}
}

func TestValidLatLng(t *testing.T) {
	t.Parallel()

	valid := [][2]float64{{52.52, 13.40}, {-90, -180}, {90, 180}, {0, 13.4}}
	invalid := [][2]float64{{0, 0}, {91, 0}, {0, 181}, {-90.1, 0}, {math.NaN(), 1}, {1, math.Inf(1)}}
	for _, v := range valid {
		if !ValidLatLng(v[0], v[1]) {
			t.Errorf("%v should be valid", v)
		}
	}
	for _, v := range invalid {
		if ValidLatLng(v[0], v[1]) {
			t.Errorf("%v should be invalid", v)
		}
	}
}

func TestScanFlags(t *testing.T) {
	t.Parallel()

	now := time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	loc := func(l Location) *Location { return &l }
	cfg := DefaultConfig()
	single := cfg
	single.SingleUse = true

	scenarios := []struct {
		name     string
		in       ScanContext
		expected []string
	}{
		{
			"first scan of an active code",
			ScanContext{Current: Scan{At: now, DeviceID: "d1", IP: "1.1.1.1", Location: loc(berlin)}, Status: StatusActive, Config: cfg},
			[]string{},
		},
		{
			"same device within the window",
			ScanContext{
				Current:  Scan{At: now, DeviceID: "d1", IP: "1.1.1.1"},
				Previous: []Scan{{At: ago(30 * time.Second), DeviceID: "d1", IP: "2.2.2.2"}},
				Status:   StatusActive, Config: cfg,
			},
			[]string{FlagRepeatScan},
		},
		{
			"same IP within the window, other device",
			ScanContext{
				Current:  Scan{At: now, DeviceID: "d1", IP: "1.1.1.1"},
				Previous: []Scan{{At: ago(59 * time.Second), DeviceID: "d2", IP: "1.1.1.1"}},
				Status:   StatusActive, Config: cfg,
			},
			[]string{FlagRepeatScan},
		},
		{
			"exactly at the window edge counts",
			ScanContext{
				Current:  Scan{At: now, DeviceID: "d1"},
				Previous: []Scan{{At: ago(60 * time.Second), DeviceID: "d1"}},
				Status:   StatusActive, Config: cfg,
			},
			[]string{FlagRepeatScan},
		},
		{
			"same device after the window",
			ScanContext{
				Current:  Scan{At: now, DeviceID: "d1", IP: "1.1.1.1"},
				Previous: []Scan{{At: ago(61 * time.Second), DeviceID: "d1", IP: "1.1.1.1"}},
				Status:   StatusActive, Config: cfg,
			},
			[]string{},
		},
		{
			"unknown device and IP never match each other",
			ScanContext{
				Current:  Scan{At: now},
				Previous: []Scan{{At: ago(time.Second)}},
				Status:   StatusActive, Config: cfg,
			},
			[]string{},
		},
		{
			"repeat check off",
			ScanContext{
				Current:  Scan{At: now, DeviceID: "d1"},
				Previous: []Scan{{At: ago(time.Second), DeviceID: "d1"}},
				Status:   StatusActive, Config: Config{MaxSpeedKmh: 900},
			},
			[]string{},
		},
		{
			"Berlin then New York an hour later",
			ScanContext{
				Current:  Scan{At: now, DeviceID: "d2", Location: loc(newYork)},
				Previous: []Scan{{At: ago(time.Hour), DeviceID: "d1", Location: loc(berlin)}},
				Status:   StatusActive, Config: cfg,
			},
			[]string{FlagImpossibleTravel},
		},
		{
			"Berlin then Paris two hours later is a flight",
			ScanContext{
				Current:  Scan{At: now, Location: loc(paris)},
				Previous: []Scan{{At: ago(2 * time.Hour), Location: loc(berlin)}},
				Status:   StatusActive, Config: cfg,
			},
			[]string{},
		},
		{
			"Berlin then Potsdam a minute later is position jitter",
			ScanContext{
				Current:  Scan{At: now, Location: loc(potsdam)},
				Previous: []Scan{{At: ago(time.Minute), Location: loc(berlin)}},
				Status:   StatusActive, Config: cfg,
			},
			[]string{},
		},
		{
			"compared with the latest located scan, not the latest scan",
			ScanContext{
				Current: Scan{At: now, Location: loc(paris)},
				Previous: []Scan{
					{At: ago(10 * time.Minute)}, // no location
					{At: ago(30 * time.Minute), Location: loc(newYork)},
					{At: ago(5 * time.Hour), Location: loc(paris)},
				},
				Status: StatusActive, Config: cfg,
			},
			[]string{FlagImpossibleTravel},
		},
		{
			"previous scans in any order",
			ScanContext{
				Current: Scan{At: now, Location: loc(paris)},
				Previous: []Scan{
					{At: ago(5 * time.Hour), Location: loc(newYork)},
					{At: ago(3 * time.Hour), Location: loc(berlin)},
					{At: ago(9 * time.Hour), Location: loc(newYork)},
				},
				Status: StatusActive, Config: cfg,
			},
			[]string{},
		},
		{
			"current scan without location",
			ScanContext{
				Current:  Scan{At: now},
				Previous: []Scan{{At: ago(time.Minute), Location: loc(newYork)}},
				Status:   StatusActive, Config: cfg,
			},
			[]string{},
		},
		{
			"0,0 means no fix",
			ScanContext{
				Current:  Scan{At: now, Location: &Location{0, 0}},
				Previous: []Scan{{At: ago(time.Minute), Location: loc(newYork)}},
				Status:   StatusActive, Config: cfg,
			},
			[]string{},
		},
		{
			"scans recorded after the current one are ignored",
			ScanContext{
				Current:  Scan{At: now, DeviceID: "d1", Location: loc(berlin)},
				Previous: []Scan{{At: now.Add(time.Second), DeviceID: "d1", Location: loc(newYork)}},
				Status:   StatusActive, Config: cfg,
			},
			[]string{},
		},
		{
			"single-use code, second device",
			ScanContext{
				Current:  Scan{At: now, DeviceID: "d2"},
				Previous: []Scan{{At: ago(time.Hour), DeviceID: "d1"}},
				Status:   StatusActive, Config: single,
			},
			[]string{FlagMultipleDevices},
		},
		{
			"single-use code, same device again later",
			ScanContext{
				Current:  Scan{At: now, DeviceID: "d1"},
				Previous: []Scan{{At: ago(time.Hour), DeviceID: "d1"}, {At: ago(2 * time.Hour)}},
				Status:   StatusActive, Config: single,
			},
			[]string{},
		},
		{
			"multi-use code, many devices",
			ScanContext{
				Current:  Scan{At: now, DeviceID: "d3"},
				Previous: []Scan{{At: ago(time.Hour), DeviceID: "d1"}, {At: ago(2 * time.Hour), DeviceID: "d2"}},
				Status:   StatusActive, Config: cfg,
			},
			[]string{},
		},
		{
			"revoked",
			ScanContext{Current: Scan{At: now}, Status: StatusRevoked, Config: cfg},
			[]string{FlagRevokedCode},
		},
		{
			"expired by status",
			ScanContext{Current: Scan{At: now}, Status: StatusExpired, Config: cfg},
			[]string{FlagExpiredCode},
		},
		{
			"expired by date",
			ScanContext{Current: Scan{At: now}, Status: StatusActive, ExpiresAt: now, Config: cfg},
			[]string{FlagExpiredCode},
		},
		{
			"not yet expired",
			ScanContext{Current: Scan{At: now}, Status: StatusActive, ExpiresAt: now.Add(time.Second), Config: cfg},
			[]string{},
		},
		{
			"everything at once, in a stable order",
			ScanContext{
				Current:   Scan{At: now, DeviceID: "d2", IP: "1.1.1.1", Location: loc(newYork)},
				Previous:  []Scan{{At: ago(10 * time.Second), DeviceID: "d1", IP: "1.1.1.1", Location: loc(berlin)}},
				Status:    StatusRevoked,
				ExpiresAt: ago(time.Hour),
				Config:    single,
			},
			[]string{FlagRepeatScan, FlagImpossibleTravel, FlagMultipleDevices, FlagRevokedCode, FlagExpiredCode},
		},
	}

	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			got := ScanFlags(s.in)
			if got == nil {
				t.Fatal("flags must be an empty slice, not nil, so JSON shows []")
			}
			if !slices.Equal(got, s.expected) {
				t.Fatalf("expected %v, got %v", s.expected, got)
			}
		})
	}
}
