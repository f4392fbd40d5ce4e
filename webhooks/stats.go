package webhooks

import (
	"database/sql"
	"errors"
	"math"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
)

// Stats describes the delivery attempts of a workspace (or one endpoint) in [From, To).
type Stats struct {
	From        time.Time        `json:"from"`
	To          time.Time        `json:"to"`
	Endpoint    string           `json:"endpoint,omitempty"`
	Attempts    int64            `json:"attempts"`
	Succeeded   int64            `json:"succeeded"`
	Failed      int64            `json:"failed"`
	SuccessRate *float64         `json:"success_rate"` // succeeded ÷ attempts; null without attempts
	LatencyMs   Latency          `json:"latency_ms"`
	Deliveries  map[string]int64 `json:"deliveries"` // deliveries of events in the window, by status
	Hourly      []Hour           `json:"hourly"`
}

// Latency holds nearest-rank percentiles of attempt durations; null without attempts.
type Latency struct {
	P50 *int64   `json:"p50"`
	P95 *int64   `json:"p95"`
	Avg *float64 `json:"avg"`
}

// Hour is one bar of the hourly histogram.
type Hour struct {
	Hour      time.Time `json:"hour"`
	Attempts  int64     `json:"attempts"`
	Succeeded int64     `json:"succeeded"`
	Failed    int64     `json:"failed"`
	AvgMs     *float64  `json:"avg_ms"`
}

// MaxStatsRange bounds one stats query (and its histogram to 31 × 24 bars).
const MaxStatsRange = 31 * 24 * time.Hour

// ComputeStats aggregates in SQL: counts and the average, each percentile with one ORDER BY … LIMIT 1 OFFSET k
// over the window's attempts, the histogram with GROUP BY hour. Attempts are counted by when they started.
func ComputeStats(app core.App, workspace, endpoint string, from, to time.Time) (*Stats, error) {
	from, to = from.UTC().Truncate(time.Millisecond), to.UTC().Truncate(time.Millisecond)
	s := &Stats{From: from, To: to, Endpoint: endpoint, Deliveries: map[string]int64{}, Hourly: []Hour{}}
	where := dbx.NewExp("workspace = {:ws} AND ts >= {:from} AND ts < {:to}", dbx.Params{"ws": workspace, "from": from.UnixMilli(), "to": to.UnixMilli()})
	if endpoint != "" {
		where = dbx.And(dbx.NewExp("endpoint = {:ep}", dbx.Params{"ep": endpoint}), where)
	}
	db := app.DB()

	var agg struct {
		N   int64           `db:"n"`
		OK  sql.NullInt64   `db:"ok"`
		Avg sql.NullFloat64 `db:"avg"`
	}
	if err := db.Select("COUNT(*) AS n", "SUM(status = 'succeeded') AS ok", "AVG(duration_ms) AS avg").
		From(collections.WebhookAttempts).Where(where).One(&agg); err != nil {
		return nil, err
	}
	s.Attempts, s.Succeeded = agg.N, agg.OK.Int64
	s.Failed = s.Attempts - s.Succeeded
	if s.Attempts > 0 {
		rate := math.Round(float64(s.Succeeded)/float64(s.Attempts)*10000) / 10000
		s.SuccessRate = &rate
		avg := math.Round(agg.Avg.Float64*100) / 100
		s.LatencyMs.Avg = &avg
		for _, p := range []struct {
			q   float64
			dst **int64
		}{{0.50, &s.LatencyMs.P50}, {0.95, &s.LatencyMs.P95}} {
			k := int64(math.Ceil(p.q*float64(s.Attempts))) - 1
			var v int64
			err := db.Select("duration_ms").From(collections.WebhookAttempts).Where(where).
				OrderBy("duration_ms").Limit(1).Offset(max(k, 0)).Row(&v)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
			*p.dst = &v
		}
	}

	var hours []struct {
		H   int64           `db:"h"`
		N   int64           `db:"n"`
		OK  int64           `db:"ok"`
		Avg sql.NullFloat64 `db:"avg"`
	}
	if err := db.Select("(ts / 3600000) * 3600000 AS h", "COUNT(*) AS n", "SUM(status = 'succeeded') AS ok", "AVG(duration_ms) AS avg").
		From(collections.WebhookAttempts).Where(where).GroupBy("h").OrderBy("h").All(&hours); err != nil {
		return nil, err
	}
	byHour := make(map[int64]int, len(hours))
	for i, h := range hours {
		byHour[h.H] = i
	}
	for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		bar := Hour{Hour: h}
		if i, ok := byHour[h.UnixMilli()]; ok {
			bar.Attempts, bar.Succeeded = hours[i].N, hours[i].OK
			bar.Failed = bar.Attempts - bar.Succeeded
			avg := math.Round(hours[i].Avg.Float64*100) / 100
			bar.AvgMs = &avg
		}
		s.Hourly = append(s.Hourly, bar)
	}

	dwhere := dbx.NewExp("workspace = {:ws} AND event_ts >= {:from} AND event_ts < {:to}", dbx.Params{"ws": workspace, "from": from.UnixMilli(), "to": to.UnixMilli()})
	if endpoint != "" {
		dwhere = dbx.And(dbx.NewExp("endpoint = {:ep}", dbx.Params{"ep": endpoint}), dwhere)
	}
	var statuses []struct {
		Status string `db:"status"`
		N      int64  `db:"n"`
	}
	if err := db.Select("status", "COUNT(*) AS n").From(collections.WebhookDeliveries).Where(dwhere).GroupBy("status").All(&statuses); err != nil {
		return nil, err
	}
	for _, st := range []string{"pending", "sending", "succeeded", "dead", "skipped"} {
		s.Deliveries[st] = 0
	}
	for _, st := range statuses {
		s.Deliveries[st.Status] = st.N
	}
	return s, nil
}
