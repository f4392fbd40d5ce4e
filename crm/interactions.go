package crm

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
)

// Interaction kinds counted per contact per day. Manychat events send the first five; QR scans and bookings
// are counted by their domains through CountInteraction.
const (
	InteractionMessage      = "message"
	InteractionComment      = "comment"
	InteractionStoryReply   = "story_reply"
	InteractionStoryMention = "story_mention"
	InteractionClick        = "click"
	InteractionQRScan       = "qr_scan"
	InteractionBooking      = "booking"
)

// EventKinds are the interaction types POST /api/v1/manychat/events accepts.
var EventKinds = []string{InteractionMessage, InteractionComment, InteractionStoryReply, InteractionStoryMention, InteractionClick}

// Weights of each kind in the engagement score.
var Weights = map[string]float64{
	InteractionMessage: 3, InteractionComment: 2, InteractionStoryReply: 3, InteractionStoryMention: 4,
	InteractionClick: 1, InteractionQRScan: 5, InteractionBooking: 10,
}

// The engagement score is Σ over the last ScoreWindowDays UTC days of (Σ weight·count) · 0.5^(age/HalfLifeDays),
// age being the day's distance from today in days: an interaction counts fully today, half after 14 days, a
// quarter after 28, and nothing after 90. A daily job recomputes it so that it decays without new activity.
const (
	HalfLifeDays    = 14
	ScoreWindowDays = 90
)

var kindColumns = []string{InteractionMessage, InteractionComment, InteractionStoryReply, InteractionStoryMention, InteractionClick, InteractionQRScan, InteractionBooking}

func weightedSum() string {
	parts := make([]string, len(kindColumns))
	for i, k := range kindColumns {
		parts[i] = fmt.Sprintf("%g*%s", Weights[k], k)
	}
	return strings.Join(parts, " + ")
}

var scoreExpr = fmt.Sprintf("COALESCE(ROUND(SUM((%s) * pow(0.5, (julianday({:today}) - julianday(day)) / %d.0)), 2), 0)", weightedSum(), HalfLifeDays)

func dayOf(t time.Time) string { return t.UTC().Format("2006-01-02") }

func dt(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.000Z") }

// CountInteraction adds one interaction of kind to the contact's counters for the UTC day of at, moves its
// last_interaction_at forward and refreshes its engagement score. Call it with the transaction of the change
// that is the interaction (a QR scan, a booking, a Manychat event).
func CountInteraction(tx core.App, workspace, contactID, kind string, at time.Time) error {
	if !slices.Contains(kindColumns, kind) {
		return fmt.Errorf("crm: unknown interaction kind %q", kind)
	}
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	hours := make([]string, 24)
	for i := range hours {
		hours[i] = "0"
	}
	hours[at.Hour()] = "1"
	now := dt(time.Now())
	hourPath := "$[" + strconv.Itoa(at.Hour()) + "]"
	_, err := tx.NonconcurrentDB().NewQuery(fmt.Sprintf(`INSERT INTO interactions (id, workspace, contact, day, %[1]s, total, hours, created, updated)
		VALUES ({:id}, {:ws}, {:c}, {:day}, 1, 1, {:hours}, {:now}, {:now})
		ON CONFLICT (contact, day) DO UPDATE SET %[1]s = %[1]s + 1, total = total + 1,
			hours = json_set(hours, {:hp}, json_extract(hours, {:hp}) + 1), updated = {:now}`, kind)).
		Bind(dbx.Params{"id": security.RandomStringWithAlphabet(15, core.DefaultIdAlphabet), "ws": workspace, "c": contactID, "day": dayOf(at),
			"hours": "[" + strings.Join(hours, ",") + "]", "now": now, "hp": hourPath}).Execute()
	if err != nil {
		return fmt.Errorf("counting an interaction: %w", err)
	}
	_, err = tx.NonconcurrentDB().NewQuery(`UPDATE contacts SET
			last_interaction_at = CASE WHEN last_interaction_at < {:at} THEN {:at} ELSE last_interaction_at END,
			engagement_score = (SELECT ` + scoreExpr + ` FROM interactions WHERE contact = {:c} AND day >= {:from})
		WHERE id = {:c}`).
		Bind(dbx.Params{"at": dt(at), "c": contactID, "today": dayOf(time.Now()), "from": dayOf(time.Now().AddDate(0, 0, -ScoreWindowDays))}).Execute()
	return err
}

// DecayScores recomputes the engagement score of every contact of workspace that has one, as of now.
func DecayScores(app core.App, workspace string, now time.Time) (int64, error) {
	res, err := app.NonconcurrentDB().NewQuery(`UPDATE contacts SET engagement_score =
			(SELECT ` + scoreExpr + ` FROM interactions WHERE contact = contacts.id AND day >= {:from})
		WHERE workspace = {:ws} AND engagement_score > 0`).
		Bind(dbx.Params{"ws": workspace, "today": dayOf(now), "from": dayOf(now.AddDate(0, 0, -ScoreWindowDays))}).Execute()
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Summary is the flat answer Manychat maps into custom fields after an upsert or an event.
type Summary struct {
	ContactID       string  `json:"contact_id"`
	SubscriberID    string  `json:"subscriber_id"`
	Created         bool    `json:"created"`
	Applied         bool    `json:"applied"`
	EngagementScore float64 `json:"engagement_score"`
	Interactions30d int     `json:"interactions_30d"`
	Bookings        int     `json:"bookings"`
	QRCodes         int     `json:"qr_codes"`
	QRScans         int     `json:"qr_scans"`
	TagsCount       int     `json:"tags_count"`
}

// Summarize reads the contact's counters for the flat answer. A contact created in this transaction has none
// yet (no interaction, booking or QR code can name an id that did not exist), so nothing is read for it.
func Summarize(app core.App, c *core.Record, created bool) (Summary, error) {
	s := Summary{ContactID: c.Id, SubscriberID: c.GetString("subscriber_id"), TagsCount: len(AllTags(c))}
	if created {
		s.EngagementScore = math.Round(c.GetFloat("engagement_score")*100) / 100
		return s, nil
	}
	var row struct {
		Score    float64 `db:"score"`
		Bookings int     `db:"bookings"`
		Scans    int     `db:"scans"`
		Recent   int     `db:"recent"`
		Codes    int     `db:"codes"`
	}
	err := app.DB().NewQuery(`SELECT
			(SELECT engagement_score FROM contacts WHERE id = {:c}) AS score,
			COALESCE(SUM(booking), 0) AS bookings, COALESCE(SUM(qr_scan), 0) AS scans,
			COALESCE(SUM(CASE WHEN day >= {:d30} THEN total ELSE 0 END), 0) AS recent,
			(SELECT COUNT(*) FROM qr_codes WHERE workspace = {:ws} AND contact = {:c}) AS codes
		FROM interactions WHERE contact = {:c}`).
		Bind(dbx.Params{"c": c.Id, "ws": c.GetString("workspace"), "d30": dayOf(time.Now().AddDate(0, 0, -30))}).One(&row)
	if err != nil {
		return s, err
	}
	s.EngagementScore = math.Round(row.Score*100) / 100
	s.Bookings, s.QRScans, s.Interactions30d, s.QRCodes = row.Bookings, row.Scans, row.Recent, row.Codes
	return s, nil
}

// Heatmap is interactions per weekday (0 = Monday) and local hour in a time zone.
type Heatmap struct {
	Timezone string     `json:"timezone"`
	From     string     `json:"from"`
	To       string     `json:"to"`
	Weekdays []string   `json:"weekdays"`
	Grid     [7][24]int `json:"grid"`
	Total    int        `json:"total"`
}

// ActivityHeatmap counts the workspace's interactions from the start of day from to the end of day to (both
// dates in loc), by local weekday and hour. Counters are kept per UTC hour, so every hour lands on the local
// hour it really was, across DST changes.
func ActivityHeatmap(app core.App, workspace string, from, to time.Time, loc *time.Location) (*Heatmap, error) {
	start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	end := time.Date(to.Year(), to.Month(), to.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, 1)
	var rows []struct {
		Day  string `db:"day"`
		Hour int    `db:"hour"`
		N    int    `db:"n"`
	}
	err := app.DB().NewQuery(`SELECT i.day AS day, CAST(h.key AS INTEGER) AS hour, SUM(h.value) AS n
		FROM interactions i, json_each(i.hours) h
		WHERE i.workspace = {:ws} AND i.day >= {:d0} AND i.day <= {:d1} AND h.value > 0
		GROUP BY i.day, h.key`).
		Bind(dbx.Params{"ws": workspace, "d0": dayOf(start), "d1": dayOf(end)}).All(&rows)
	if err != nil {
		return nil, err
	}
	hm := &Heatmap{Timezone: loc.String(), From: start.Format("2006-01-02"), To: to.Format("2006-01-02"),
		Weekdays: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}}
	for _, r := range rows {
		d, err := time.Parse("2006-01-02", r.Day)
		if err != nil {
			continue
		}
		at := d.Add(time.Duration(r.Hour) * time.Hour)
		if at.Before(start) || !at.Before(end) {
			continue
		}
		local := at.In(loc)
		wd := (int(local.Weekday()) + 6) % 7
		hm.Grid[wd][local.Hour()] += r.N
		hm.Total += r.N
	}
	return hm, nil
}
