// Package geo holds the distance maths and the fraud-flag decision for QR
// scans. ScanFlags is a pure function of one scan and the code's history,
// so the scan hook only gathers data and stores the flags it returns; the
// flags mark a scan for review and never block it on their own.
package geo

import (
	"math"
	"time"
)

// EarthRadiusKm is the mean Earth radius (IUGG), in kilometres.
const EarthRadiusKm = 6371.0088

// Haversine is the great-circle distance in kilometres between two points
// given in decimal degrees.
func Haversine(lat1, lng1, lat2, lng2 float64) float64 {
	rad := math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLng := (lng2 - lng1) * rad
	h := math.Sin(dLat/2)*math.Sin(dLat/2) +
		math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	// Rounding can push h a hair above 1 for antipodal points.
	return 2 * EarthRadiusKm * math.Asin(math.Sqrt(math.Min(1, h)))
}

// Point is a located moment.
type Point struct {
	Lat, Lng float64
	At       time.Time
}

// ImpliedSpeedKmh is the speed someone would need to be at both points,
// in km/h, whichever comes first. Two different places at the same
// instant give +Inf; the same place gives 0.
func ImpliedSpeedKmh(a, b Point) float64 {
	km := Haversine(a.Lat, a.Lng, b.Lat, b.Lng)
	hours := math.Abs(b.At.Sub(a.At).Hours())
	if km == 0 {
		return 0
	}
	if hours == 0 {
		return math.Inf(1)
	}
	return km / hours
}

// ValidLatLng reports whether lat/lng are real coordinates. Clients send
// 0,0 when they have no fix (it is in the Atlantic), so that counts as
// unknown too.
func ValidLatLng(lat, lng float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lng) &&
		lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180 &&
		!(lat == 0 && lng == 0)
}

// Location is an optional position of a scan.
type Location struct{ Lat, Lng float64 }

// Scan is one scan of a code.
type Scan struct {
	At       time.Time
	DeviceID string    // a stable per-browser id (cookie); "" if unknown
	IP       string    // "" if unknown
	Location *Location // nil if unknown
}

func (s Scan) located() bool { return s.Location != nil && ValidLatLng(s.Location.Lat, s.Location.Lng) }

// CodeStatus is the lifecycle state of a code when it is scanned.
type CodeStatus string

const (
	StatusActive  CodeStatus = "active"
	StatusRevoked CodeStatus = "revoked"
	StatusExpired CodeStatus = "expired"
)

// Flags, in the order ScanFlags reports them.
const (
	FlagRepeatScan       = "repeat_scan"
	FlagImpossibleTravel = "impossible_travel"
	FlagMultipleDevices  = "multiple_devices"
	FlagRevokedCode      = "revoked_code"
	FlagExpiredCode      = "expired_code"
)

// Config tunes ScanFlags per QR tool.
type Config struct {
	// RepeatWindowSeconds: a scan from the same device or IP within this
	// many seconds of an earlier one is a repeat. 0 turns the check off.
	RepeatWindowSeconds int
	// MaxSpeedKmh: faster implied travel between this scan and the last
	// located one is impossible. 0 turns the check off.
	MaxSpeedKmh float64
	// MinTravelKm ignores jumps shorter than this, because IP and Wi-Fi
	// positions wander by tens of kilometres between two requests.
	MinTravelKm float64
	// SingleUse codes are meant for one person: a second device id is
	// suspicious.
	SingleUse bool
}

// DefaultConfig: airliner speed as the limit, one minute for repeats.
func DefaultConfig() Config {
	return Config{RepeatWindowSeconds: 60, MaxSpeedKmh: 900, MinTravelKm: 50}
}

// ScanContext is everything ScanFlags looks at.
type ScanContext struct {
	Current Scan
	Status  CodeStatus
	// ExpiresAt is when the code stops being valid; zero means never.
	ExpiresAt time.Time
	// Previous scans of the same code, in any order. Scans recorded after
	// Current (clock skew, concurrent inserts) are ignored.
	Previous []Scan
	Config   Config
}

// ScanFlags returns the fraud flags for the current scan, in the order of
// the Flag* constants; an empty (non-nil) slice means nothing suspicious.
func ScanFlags(in ScanContext) []string {
	cur := in.Current
	cfg := in.Config
	flags := []string{}

	var earlier []Scan
	for _, p := range in.Previous {
		if !p.At.After(cur.At) {
			earlier = append(earlier, p)
		}
	}

	if cfg.RepeatWindowSeconds > 0 {
		window := time.Duration(cfg.RepeatWindowSeconds) * time.Second
		for _, p := range earlier {
			sameDevice := cur.DeviceID != "" && p.DeviceID == cur.DeviceID
			sameIP := cur.IP != "" && p.IP == cur.IP
			if (sameDevice || sameIP) && cur.At.Sub(p.At) <= window {
				flags = append(flags, FlagRepeatScan)
				break
			}
		}
	}

	if cfg.MaxSpeedKmh > 0 && cur.located() {
		var last *Scan
		for i := range earlier {
			p := &earlier[i]
			if p.located() && (last == nil || p.At.After(last.At)) {
				last = p
			}
		}
		if last != nil {
			a := Point{last.Location.Lat, last.Location.Lng, last.At}
			b := Point{cur.Location.Lat, cur.Location.Lng, cur.At}
			if Haversine(a.Lat, a.Lng, b.Lat, b.Lng) >= cfg.MinTravelKm && ImpliedSpeedKmh(a, b) > cfg.MaxSpeedKmh {
				flags = append(flags, FlagImpossibleTravel)
			}
		}
	}

	if cfg.SingleUse {
		devices := map[string]bool{}
		for _, p := range append(earlier, cur) {
			if p.DeviceID != "" {
				devices[p.DeviceID] = true
			}
		}
		if len(devices) > 1 {
			flags = append(flags, FlagMultipleDevices)
		}
	}

	if in.Status == StatusRevoked {
		flags = append(flags, FlagRevokedCode)
	}
	if in.Status == StatusExpired || (!in.ExpiresAt.IsZero() && !cur.At.Before(in.ExpiresAt)) {
		flags = append(flags, FlagExpiredCode)
	}
	return flags
}
