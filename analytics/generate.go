package analytics

import (
	"fmt"
	"github.com/playgram/playgram/platform"
	"math/rand/v2"
	"time"

	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/security"
)

// GenerateOptions shape a synthetic event log for benchmarks and demos.
type GenerateOptions struct {
	Events int       // total events
	Days   int       // spread over the days before End
	End    time.Time // zero: now
	Seed   uint64
}

// campaigns and channels of generated touches and purchases.
var (
	genCampaigns = []string{"spring_sale", "summer_drop", "vip_launch", "giveaway", "retargeting"}
	genChannels  = []string{"instagram", "qr", "manychat", "email", "ads"}
)

// Generate bulk-loads a realistic event log into workspace with plain SQL in large transactions (no hooks):
// contacts arrive over the period (contact.created), then act in bursts — Manychat messages and flows, QR
// scans, bookings, verifications, AI replies, webhook deliveries and purchases with value, campaign and channel.
// About one contact per 20 events. It runs ANALYZE at the end and returns the number of events written.
func Generate(app core.App, workspace string, o GenerateOptions) (n int, err error) {
	if o.End.IsZero() {
		o.End = time.Now()
	}
	if o.Days <= 0 {
		o.Days = 365
	}
	rng := rand.New(rand.NewPCG(o.Seed, 42))
	end := o.End.UnixMilli()
	start := end - int64(o.Days)*86_400_000
	stamp := o.End.UTC().Format("2006-01-02 15:04:05.000Z")
	written, contact := 0, 0
	run := security.RandomStringWithAlphabet(4, core.DefaultIdAlphabet) // ids and contacts of this run
	// A big load writes the rows without the events' secondary indexes and builds them afterwards (one sort
	// per index instead of a random B-tree insert per row and index).
	if o.Events >= bulkIndexes {
		restore, err := dropIndexes(app, "events")
		if err != nil {
			return 0, err
		}
		defer func() {
			if e := restore(); e != nil && err == nil {
				err = e
			}
		}()
	}
	rows := make([][]any, 0, 1024)
	for written < o.Events {
		err = platform.WriteTx(app, func(tx core.App) error {
			rows = rows[:0]
			put := func(typ, c, data string, ts int64) error {
				written++
				rows = append(rows, []any{fmt.Sprintf("g%s%010d", run, written), workspace, typ, c, "system", data, ts, stamp, stamp})
				if len(rows) == cap(rows) {
					err := insertEvents(tx, rows)
					rows = rows[:0]
					return err
				}
				return nil
			}
			for chunk := 0; chunk < 200_000 && written < o.Events; {
				contact++
				c := fmt.Sprintf("c%s%010d", run, contact)
				ts := start + rng.Int64N(end-start)
				if err := put("contact.created", c, `{"source":"manychat"}`, ts); err != nil {
					return err
				}
				chunk++
				campaign := genCampaigns[rng.IntN(len(genCampaigns))]
				channel := genChannels[rng.IntN(len(genChannels))]
				for n := 5 + rng.IntN(30); n > 0 && written < o.Events; n-- {
					// Bursts within a session, and days to weeks between sessions.
					if rng.IntN(4) == 0 {
						ts += int64(rng.ExpFloat64() * 5 * 86_400_000)
					} else {
						ts += int64(rng.ExpFloat64() * 600_000)
					}
					if ts >= end {
						break
					}
					typ, data := genEvent(rng, campaign, channel)
					if err := put(typ, c, data, ts); err != nil {
						return err
					}
					chunk++
				}
			}
			return insertEvents(tx, rows)
		})
		if err != nil {
			return written, err
		}
	}
	if o.Events < bulkIndexes {
		Analyze(app)
	}
	return written, nil
}

// bulkIndexes is the load size from which Generate builds the events' indexes after the rows.
const bulkIndexes = 200_000

// dropIndexes drops table's secondary indexes and returns the function that recreates them (with their
// original SQL) and runs ANALYZE.
func dropIndexes(app core.App, table string) (func() error, error) {
	var defs []struct {
		Name string `db:"name"`
		SQL  string `db:"sql"`
	}
	if err := app.DB().NewQuery("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = {:t} AND sql IS NOT NULL").
		Bind(dbx.Params{"t": table}).All(&defs); err != nil {
		return nil, err
	}
	for _, d := range defs {
		if _, err := app.NonconcurrentDB().NewQuery("DROP INDEX IF EXISTS `" + d.Name + "`").Execute(); err != nil {
			return nil, err
		}
	}
	return func() error {
		for _, d := range defs {
			if _, err := app.NonconcurrentDB().NewQuery(d.SQL).Execute(); err != nil {
				return err
			}
		}
		Analyze(app)
		return nil
	}, nil
}

func genEvent(rng *rand.Rand, campaign, channel string) (string, string) {
	switch r := rng.IntN(100); {
	case r < 33:
		return "manychat.message", `{"direction":"in"}`
	case r < 48:
		return "qr.scanned", fmt.Sprintf(`{"code":"PG-%06d","campaign":%q}`, rng.IntN(1_000_000), campaign)
	case r < 58:
		return "manychat.flow_started", fmt.Sprintf(`{"flow":"content%d","campaign":%q}`, rng.IntN(20), campaign)
	case r < 64:
		return "booking.created", fmt.Sprintf(`{"source":%q,"amount":%d}`, channel, 20+rng.IntN(200))
	case r < 65:
		return "booking.cancelled", `{}`
	case r < 69:
		return "verification.passed", `{}`
	case r < 70:
		return "verification.failed", `{}`
	case r < 79:
		return "webhook.delivered", `{"status":200}`
	case r < 80:
		return "webhook.failed", `{"status":500}`
	case r < 89:
		return "ai.reply", fmt.Sprintf(`{"cost":%.4f}`, rng.Float64()*0.02)
	case r < 92:
		return PurchaseType, fmt.Sprintf(`{"value":%.2f,"currency":"EUR","campaign":%q,"channel":%q}`, 5+rng.ExpFloat64()*60, campaign, channel)
	}
	return "qr.created", `{}`
}
