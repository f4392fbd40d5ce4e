package qr

import (
	"database/sql"
	"encoding/json"
	"errors"
	"github.com/playgram/playgram/internal/dbtime"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/crm"
	"github.com/playgram/playgram/internal/geo"
	"github.com/playgram/playgram/internal/qrcode"
	"github.com/playgram/playgram/internal/toolconfig"
	"github.com/playgram/playgram/internal/useragent"
	"github.com/playgram/playgram/platform"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// recentScans bounds how much history the fraud checks read per scan.
const recentScans = 20

// ScanInput is one scan at the counter or from a scanner app.
type ScanInput struct {
	Workspace string
	Code      string
	Consume   bool
	Lat, Lng  *float64
	Accuracy  *float64
	DeviceID  string
	IP        string
	UserAgent string
	Actor     platform.Actor
	Now       time.Time
}

// ScanResult is the answer the API gives, field for field.
type ScanResult struct {
	Valid     bool     `json:"valid"`
	Status    string   `json:"status"`
	Reason    string   `json:"reason"`
	Uses      int      `json:"uses"`
	MaxUses   int      `json:"max_uses"`
	Remaining int      `json:"remaining"`
	ExpiresAt any      `json:"expires_at"`
	Contact   any      `json:"contact"`
	Flags     []string `json:"flags"`
	Code      string   `json:"code"`
	ScanID    string   `json:"scan_id"`
}

// Scan validates a code and, when asked, uses it up by one, in one transaction: the read, the conditional use
// count and the scan row are serialised by PocketBase's single writer, so concurrent scans of a single-use code
// give exactly one valid answer. Every scan, valid or not, is stored with its device, location and fraud flags.
// Scans that arrive together share a transaction (platform.WriteGrouped): a burst at the door pays one commit.
func Scan(app core.App, in ScanInput) (ScanResult, error) {
	now := in.Now
	if now.IsZero() {
		now = time.Now()
	}
	code := qrcode.NormalizeCode(in.Code)
	var res ScanResult
	err := platform.WriteGrouped(app, func(tx core.App) error {
		res = ScanResult{Code: code, Flags: []string{}}
		row, err := loadScanTarget(tx, in.Workspace, code)
		if err != nil {
			return err
		}
		if row == nil {
			res.Status, res.Reason = qrcode.StatusNotFound, "No such code."
			res.ScanID, err = saveScan(tx, in, now, nil, res, false)
			return err
		}

		state := row.state()
		verdict := qrcode.Judge(state, now)
		consumed := false
		if verdict.Valid && in.Consume {
			if err := consume(tx, row.ID, now); err != nil {
				return err
			}
			state.Uses++
			consumed = true
		}
		previous, err := previousScans(tx, row.ID)
		if err != nil {
			return err
		}
		cfg := geo.DefaultConfig()
		cfg.RepeatWindowSeconds = row.repeatWindow()
		cfg.SingleUse = state.MaxUses == 1
		res.Flags = geo.ScanFlags(geo.ScanContext{
			Current:   geoScan(now, in.DeviceID, in.IP, in.Lat, in.Lng),
			Status:    codeStatus(verdict.Status),
			ExpiresAt: state.ExpiresAt,
			Previous:  previous,
			Config:    cfg,
		})

		res.Valid, res.Status, res.Reason = verdict.Valid, verdict.Status, verdict.Reason
		res.Uses, res.MaxUses, res.Remaining = state.Uses, state.MaxUses, state.Remaining()
		res.ExpiresAt = timeOrNil(state.ExpiresAt)
		if row.Contact != "" {
			res.Contact = row.Contact
		}
		if res.ScanID, err = saveScan(tx, in, now, row, res, consumed); err != nil {
			return err
		}
		if row.Contact != "" {
			// A scan is an interaction of its contact: last_interaction_at, daily counter and score.
			if err := crm.CountInteraction(tx, in.Workspace, row.Contact, crm.InteractionQRScan, now); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// scanTarget is a code and the one setting of its tool a scan needs, read in one indexed query: this is the
// hot path of the counter, so it avoids loading whole records.
type scanTarget struct {
	ID         string `db:"id"`
	Tool       string `db:"tool"`
	Contact    string `db:"contact"`
	Status     string `db:"status"`
	Uses       int    `db:"uses"`
	MaxUses    int    `db:"max_uses"`
	ExpiresAt  string `db:"expires_at"`
	ToolConfig string `db:"config"`
}

func loadScanTarget(tx core.App, workspace, code string) (*scanTarget, error) {
	var row scanTarget
	err := tx.DB().NewQuery(`SELECT q.id, q.tool, q.contact, q.status, q.uses, q.max_uses, q.expires_at, t.config
		FROM qr_codes q JOIN tools t ON t.id = q.tool WHERE q.workspace = {:ws} AND q.code = {:code} LIMIT 1`).
		Bind(dbx.Params{"ws": workspace, "code": code}).One(&row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &row, err
}

func (r *scanTarget) state() qrcode.State {
	s := qrcode.State{Revoked: r.Status == collections.QRRevoked, Uses: r.Uses, MaxUses: r.MaxUses}
	if r.ExpiresAt != "" {
		s.ExpiresAt = dbtime.Parse(r.ExpiresAt)
	}
	return s
}

func (r *scanTarget) repeatWindow() int {
	cfg := struct {
		RepeatWindowSeconds *int `json:"repeat_window_seconds"`
	}{}
	_ = json.Unmarshal([]byte(r.ToolConfig), &cfg)
	if cfg.RepeatWindowSeconds == nil {
		return int(toolconfig.SchemaOf(toolconfig.TypeQR)["repeat_window_seconds"].Default.(int))
	}
	return *cfg.RepeatWindowSeconds
}

func consume(tx core.App, id string, now time.Time) error {
	_, err := tx.NonconcurrentDB().NewQuery(`UPDATE qr_codes SET uses = uses + 1, last_scan_at = {:now}, updated = {:now},
			status = CASE WHEN max_uses > 0 AND uses + 1 >= max_uses THEN 'exhausted' ELSE status END
		WHERE id = {:id} AND (max_uses = 0 OR uses < max_uses)`).
		Bind(dbx.Params{"now": dbtime.Format(now), "id": id}).Execute()
	return err
}

type scanRow struct {
	Created  string  `db:"created"`
	DeviceID string  `db:"device_id"`
	IP       string  `db:"ip"`
	Lat      float64 `db:"lat"`
	Lng      float64 `db:"lng"`
	Located  bool    `db:"located"`
}

func previousScans(tx core.App, qrID string) ([]geo.Scan, error) {
	var rows []scanRow
	err := tx.DB().NewQuery(`SELECT created, device_id, ip, lat, lng, located FROM qr_scans
		WHERE qr = {:qr} AND qr != '' ORDER BY created DESC LIMIT {:n}`).Bind(dbx.Params{"qr": qrID, "n": recentScans}).All(&rows)
	if err != nil {
		return nil, err
	}
	out := make([]geo.Scan, 0, len(rows))
	for _, r := range rows {
		at := dbtime.Parse(r.Created)
		s := geo.Scan{At: at, DeviceID: r.DeviceID, IP: r.IP}
		if r.Located {
			s.Location = &geo.Location{Lat: r.Lat, Lng: r.Lng}
		}
		out = append(out, s)
	}
	return out, nil
}

func geoScan(now time.Time, deviceID, ip string, lat, lng *float64) geo.Scan {
	s := geo.Scan{At: now, DeviceID: deviceID, IP: ip}
	if lat != nil && lng != nil {
		s.Location = &geo.Location{Lat: *lat, Lng: *lng}
	}
	return s
}

func codeStatus(status string) geo.CodeStatus {
	switch status {
	case qrcode.StatusRevoked:
		return geo.StatusRevoked
	case qrcode.StatusExpired:
		return geo.StatusExpired
	}
	return geo.StatusActive
}

func saveScan(tx core.App, in ScanInput, now time.Time, target *scanTarget, res ScanResult, consumed bool) (string, error) {
	coll, err := tx.FindCachedCollectionByNameOrId(collections.QRScans)
	if err != nil {
		return "", err
	}
	device := useragent.Parse(in.UserAgent)
	s := core.NewRecord(coll)
	s.Set("workspace", in.Workspace)
	s.Set("code", res.Code)
	s.Set("valid", res.Valid)
	s.Set("status", res.Status)
	s.Set("consumed", consumed)
	s.Set("ip", in.IP)
	s.Set("user_agent", truncate(in.UserAgent, 512))
	s.Set("device_type", device.Type)
	s.Set("os", device.OS)
	s.Set("browser", device.Browser)
	s.Set("device_id", truncate(in.DeviceID, 128))
	if in.Lat != nil && in.Lng != nil {
		s.Set("lat", *in.Lat)
		s.Set("lng", *in.Lng)
		s.Set("located", true)
	}
	if in.Accuracy != nil {
		s.Set("accuracy", *in.Accuracy)
	}
	s.Set("flags", res.Flags)
	s.Set("actor", in.Actor.String())
	var subject, contact string
	if target != nil {
		s.Set("qr", target.ID)
		s.Set("tool", target.Tool)
		s.Set("contact", target.Contact)
		subject, contact = target.ID, target.Contact
	}
	if err := tx.Save(s); err != nil {
		return "", err
	}
	_, err = platform.Emit(tx, platform.Event{
		Workspace: in.Workspace, Type: "qr.scanned", SubjectCollection: collections.QRCodes, SubjectID: subject,
		Contact: contact, Actor: in.Actor.String(), At: now,
		Data: map[string]any{"scan": s.Id, "code": res.Code, "status": res.Status, "valid": res.Valid, "consumed": consumed,
			"flags": res.Flags, "device_type": device.Type, "os": device.OS, "browser": device.Browser},
	})
	return s.Id, err
}

// Revoke stops a code for good and records qr.revoked, in one transaction.
func Revoke(app core.App, rec *core.Record, actor platform.Actor, now time.Time) error {
	return platform.WriteTx(app, func(tx core.App) error {
		rec.Set("status", collections.QRRevoked)
		rec.Set("revoked_at", now)
		if err := tx.Save(rec); err != nil {
			return err
		}
		_, err := platform.Emit(tx, platform.Event{
			Workspace: rec.GetString("workspace"), Type: "qr.revoked", SubjectCollection: collections.QRCodes, SubjectID: rec.Id,
			Contact: rec.GetString("contact"), Actor: actor.String(), At: now,
			Data: map[string]any{"id": rec.Id, "code": rec.GetString("code")},
		})
		return err
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
