package routes

import (
	"fmt"
	"github.com/playgram/playgram/internal/dbtime"
	"net/http"
	"strconv"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/internal/csvsafe"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/qr"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/search"
)

type qrBatchRequest struct {
	Tool      string            `json:"tool"`
	Count     int               `json:"count"`
	Vars      map[string]string `json:"vars"`
	MaxUses   *int              `json:"max_uses"`
	ExpiresAt string            `json:"expires_at"`
	Label     string            `json:"label"`
}

func createQRBatch(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		var req qrBatchRequest
		raw, err := readJSONRaw(e, &req)
		if err != nil {
			return err
		}
		p := platform.PrincipalOf(e)
		problems := map[string]string{}
		if req.Count < 1 || req.Count > qr.MaxBatch {
			problems["count"] = fmt.Sprintf("Must be between 1 and %d.", qr.MaxBatch)
		}
		if req.MaxUses != nil && (*req.MaxUses < 0 || *req.MaxUses > 1_000_000) {
			problems["max_uses"] = "Must be between 0 (unlimited) and 1000000."
		}
		if req.ExpiresAt != "" {
			if t, err := time.Parse(time.RFC3339, req.ExpiresAt); err != nil {
				problems["expires_at"] = "Must be an RFC 3339 time such as 2027-01-31T18:00:00Z."
			} else if !t.After(time.Now()) {
				problems["expires_at"] = "Must be in the future."
			}
		}
		if len(req.Label) > 100 {
			problems["label"] = "Must be at most 100 characters."
		}
		if len(problems) > 0 {
			return fieldErrors(e, problems)
		}
		tool, err := qr.LoadTool(e.App, p.Workspace, req.Tool)
		if err != nil {
			return fieldError(e, "tool", "validation_not_found", err.Error())
		}
		actor := platform.ActorFromRequest(e)
		return createOnce(e, raw, func(tx core.App) (int, any, error) {
			batch, err := qr.CreateBatch(tx, tool, qr.BatchParams{Count: req.Count, Vars: req.Vars, MaxUses: req.MaxUses,
				ExpiresAt: req.ExpiresAt, Label: req.Label}, actor)
			if err != nil {
				return 0, nil, err
			}
			return http.StatusAccepted, map[string]any{"id": batch.Id, "status": batch.GetString("status"), "count": req.Count, "generated": 0}, nil
		})
	}
}

// exportQRCSV streams the workspace's codes matching an optional PocketBase filter, with scan counts, as CSV.
func exportQRCSV(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		p := platform.PrincipalOf(e)
		coll, err := e.App.FindCachedCollectionByNameOrId(collections.QRCodes)
		if err != nil {
			return err
		}
		query := e.App.RecordQuery(coll).AndWhere(dbx.HashExp{coll.Name + ".workspace": p.Workspace})
		if filter := e.Request.URL.Query().Get("filter"); filter != "" {
			info, _ := e.RequestInfo()
			resolver := core.NewRecordFieldResolver(e.App, coll, info, false)
			expr, err := search.FilterData(filter).BuildExpr(resolver)
			if err != nil {
				return fieldError(e, "filter", "validation_invalid_filter", "is not a valid filter: "+err.Error())
			}
			query.AndWhere(expr)
			if err := resolver.UpdateQuery(query); err != nil {
				return fieldError(e, "filter", "validation_invalid_filter", err.Error())
			}
		}
		query.OrderBy(coll.Name + ".created ASC")

		h := e.Response.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="qr-codes-`+time.Now().UTC().Format("20060102")+`.csv"`)
		e.Response.WriteHeader(http.StatusOK)
		w := csvsafe.NewWriter(e.Response, csvsafe.Options{UseCRLF: true, BOM: true})
		_ = w.Write([]string{"code", "status", "uses", "max_uses", "expires_at", "label", "tool", "contact", "created", "scans", "valid_scans", "last_scan_at"})
		const page = 1000
		for offset := 0; ; offset += page {
			var recs []*core.Record
			if err := query.Limit(page).Offset(int64(offset)).All(&recs); err != nil {
				return err
			}
			counts, err := scanCounts(e.App, recs)
			if err != nil {
				return err
			}
			for _, r := range recs {
				c := counts[r.Id]
				_ = w.Write([]string{r.GetString("code"), qr.EffectiveStatus(r, time.Now()), strconv.Itoa(r.GetInt("uses")),
					strconv.Itoa(r.GetInt("max_uses")), dateCell(r, "expires_at"), r.GetString("label"), r.GetString("tool"),
					r.GetString("contact"), dateCell(r, "created"), strconv.Itoa(c.Scans), strconv.Itoa(c.Valid), c.Last})
			}
			w.Flush()
			if len(recs) < page {
				break
			}
		}
		return w.Error()
	}
}

type scanCount struct {
	QR    string `db:"qr"`
	Scans int    `db:"scans"`
	Valid int    `db:"valid"`
	Last  string `db:"last"`
}

// scanCounts aggregates the scans of one page of codes in one query.
func scanCounts(app core.App, recs []*core.Record) (map[string]scanCount, error) {
	out := make(map[string]scanCount, len(recs))
	if len(recs) == 0 {
		return out, nil
	}
	ids := make([]any, len(recs))
	for i, r := range recs {
		ids[i] = r.Id
	}
	var rows []scanCount
	err := app.DB().Select("qr", "COUNT(*) AS scans", "SUM(valid) AS valid", "MAX(created) AS last").From(collections.QRScans).
		Where(dbx.In("qr", ids...)).GroupBy("qr").All(&rows)
	for _, r := range rows {
		out[r.QR] = r
	}
	return out, err
}

func dateCell(r *core.Record, field string) string {
	d := r.GetDateTime(field)
	if d.IsZero() {
		return ""
	}
	return d.Time().UTC().Format(time.RFC3339)
}

// qrStats answers scans over time by status, top codes, device, OS and browser split, located points and fraud-flag
// counts, each computed by SQL aggregation over the indexed (workspace, created) range.
func qrStats(svc *platform.Services) func(e *core.RequestEvent) error {
	return func(e *core.RequestEvent) error {
		p := platform.PrincipalOf(e)
		q := e.Request.URL.Query()
		from, to, err := timeRange(e, q.Get("from"), q.Get("to"), 30*24*time.Hour, 366*24*time.Hour)
		if err != nil {
			return err
		}
		bucket := q.Get("bucket")
		if bucket == "" {
			bucket = "day"
		}
		bucketExpr, ok := map[string]string{
			"hour": "substr(created, 1, 13) || ':00:00Z'",
			"day":  "substr(created, 1, 10)",
			// weeks start on Monday
			"week": "date(substr(created, 1, 10), '-' || ((CAST(strftime('%w', substr(created, 1, 10)) AS INTEGER) + 6) % 7) || ' days')",
		}[bucket]
		if !ok {
			return fieldError(e, "bucket", "validation_invalid_value", "must be hour, day or week")
		}
		where := dbx.And(dbx.HashExp{"workspace": p.Workspace},
			dbx.NewExp("created >= {:from} AND created < {:to}", dbx.Params{"from": dt(from), "to": dt(to)}))
		if ref := q.Get("tool"); ref != "" {
			tool, err := qr.LoadTool(e.App, p.Workspace, ref)
			if err != nil {
				return fieldError(e, "tool", "validation_not_found", err.Error())
			}
			where = dbx.And(where, dbx.HashExp{"tool": tool.Record.Id})
		}
		if ref := q.Get("qr"); ref != "" {
			// One code (by id or by its text), e.g. for a code's detail page; served by idx_qr_scans_qr_created.
			code, err := e.App.FindFirstRecordByFilter(collections.QRCodes, "workspace = {:ws} && (id = {:ref} || code = {:ref})",
				dbx.Params{"ws": p.Workspace, "ref": ref})
			if err != nil {
				return fieldError(e, "qr", "validation_not_found", "is not a QR code of this workspace")
			}
			where = dbx.And(where, dbx.HashExp{"qr": code.Id})
		}
		db := e.App.DB()

		type seriesRow struct {
			Bucket string `db:"bucket" json:"bucket"`
			Status string `db:"status" json:"status"`
			Count  int    `db:"n" json:"count"`
		}
		var series []seriesRow
		if err := db.Select(bucketExpr+" AS bucket", "status", "COUNT(*) AS n").From(collections.QRScans).Where(where).
			GroupBy("bucket", "status").OrderBy("bucket").All(&series); err != nil {
			return err
		}
		timeline := []map[string]any{}
		index := map[string]map[string]any{}
		for _, r := range series {
			b, ok := index[r.Bucket]
			if !ok {
				b = map[string]any{"bucket": r.Bucket, "total": 0}
				index[r.Bucket] = b
				timeline = append(timeline, b)
			}
			b[r.Status] = r.Count
			b["total"] = b["total"].(int) + r.Count
		}

		type topRow struct {
			Code  string `db:"code" json:"code"`
			Scans int    `db:"n" json:"scans"`
			Valid int    `db:"valid" json:"valid"`
		}
		var top []topRow
		if err := db.Select("code", "COUNT(*) AS n", "SUM(valid) AS valid").From(collections.QRScans).Where(where).
			GroupBy("code").OrderBy("n DESC", "code").Limit(10).All(&top); err != nil {
			return err
		}
		split := func(col string) (map[string]int, error) {
			var rows []struct {
				Key string `db:"k"`
				N   int    `db:"n"`
			}
			err := db.Select(col+" AS k", "COUNT(*) AS n").From(collections.QRScans).Where(where).GroupBy("k").All(&rows)
			out := map[string]int{}
			for _, r := range rows {
				out[r.Key] = r.N
			}
			return out, err
		}
		devices, err := split("device_type")
		if err != nil {
			return err
		}
		oses, err := split("os")
		if err != nil {
			return err
		}
		browsers, err := split("browser")
		if err != nil {
			return err
		}
		type pointRow struct {
			Lat    float64 `db:"lat" json:"lat"`
			Lng    float64 `db:"lng" json:"lng"`
			Status string  `db:"status" json:"status"`
		}
		var points []pointRow
		if err := db.Select("lat", "lng", "status").From(collections.QRScans).Where(dbx.And(where, dbx.HashExp{"located": true})).
			OrderBy("created DESC").Limit(1000).All(&points); err != nil {
			return err
		}
		var flagRows []struct {
			Flag string `db:"flag"`
			N    int    `db:"n"`
		}
		if err := db.Select("j.value AS flag", "COUNT(*) AS n").From(collections.QRScans + ", json_each(qr_scans.flags) AS j").
			Where(where).GroupBy("flag").All(&flagRows); err != nil {
			return err
		}
		flags := map[string]int{}
		for _, r := range flagRows {
			flags[r.Flag] = r.N
		}
		total := 0
		for _, r := range series {
			total += r.Count
		}
		return e.JSON(http.StatusOK, map[string]any{
			"from": from.UTC().Format(time.RFC3339), "to": to.UTC().Format(time.RFC3339), "bucket": bucket,
			"total": total, "timeline": timeline, "top_codes": nonNilSlice(top), "devices": devices, "os": oses, "browsers": browsers,
			"locations": nonNilSlice(points), "flags": flags,
		})
	}
}

// timeRange parses optional RFC 3339 (or YYYY-MM-DD) bounds: to defaults to now, from to to-def; the span is
// at most max.
func timeRange(e *core.RequestEvent, fromS, toS string, def, max time.Duration) (time.Time, time.Time, error) {
	parse := func(field, s string) (time.Time, error) {
		for _, layout := range []string{time.RFC3339, "2006-01-02"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t, nil
			}
		}
		return time.Time{}, fieldError(e, field, "validation_invalid_date", "must be an RFC 3339 time or a YYYY-MM-DD date")
	}
	// By default up to now, inclusive: stored times have millisecond precision and to is exclusive, so a scan
	// stored in this same millisecond must fall before it.
	to := time.Now().Truncate(time.Millisecond).Add(time.Millisecond)
	var err error
	if toS != "" {
		if to, err = parse("to", toS); err != nil {
			return to, to, err
		}
	}
	from := to.Add(-def)
	if fromS != "" {
		if from, err = parse("from", fromS); err != nil {
			return from, to, err
		}
	}
	if !from.Before(to) {
		return from, to, fieldError(e, "from", "validation_invalid_range", "must be before to")
	}
	if to.Sub(from) > max {
		return from, to, fieldError(e, "from", "validation_invalid_range", fmt.Sprintf("the range may span at most %d days", int(max.Hours()/24)))
	}
	return from, to, nil
}

func nonNilSlice[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// dt renders a time for comparisons with stored dates.
func dt(t time.Time) string { return dbtime.Format(t) }
