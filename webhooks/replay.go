package webhooks

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/pocketbase/dbx"
	"github.com/pocketbase/pocketbase/core"
	"github.com/pocketbase/pocketbase/tools/types"
)

// ReplayStatuses are the delivery states that can be sent again.
var ReplayStatuses = []string{"dead", "skipped", "succeeded"}

// ErrNotReplayable is returned for a delivery that is still pending or being sent.
var ErrNotReplayable = errors.New("only dead, skipped or succeeded deliveries can be replayed")

// ErrEndpointDisabled is returned when replaying to a disabled endpoint.
var ErrEndpointDisabled = errors.New("the endpoint is disabled; enable it first")

// ReplayDelivery queues one delivery again, now, with a fresh retry budget and the same webhook-id.
func ReplayDelivery(app core.App, delivery *core.Record) error {
	if !slices.Contains(ReplayStatuses, delivery.GetString("status")) {
		return ErrNotReplayable
	}
	ep, err := app.FindRecordById(collections.WebhookEndpoints, delivery.GetString("endpoint"))
	if err != nil {
		return fmt.Errorf("the endpoint of this delivery was deleted")
	}
	if !ep.GetBool("enabled") {
		return ErrEndpointDisabled
	}
	now := time.Now().UnixMilli()
	res, err := app.NonconcurrentDB().NewQuery(`UPDATE ` + collections.WebhookDeliveries + ` SET status = 'pending', attempt_base = attempts,
			next_at = {:now}, last_error = '', updated = {:u} WHERE id = {:id} AND status IN ('dead', 'skipped', 'succeeded')`).
		Bind(dbx.Params{"id": delivery.Id, "now": now, "u": types.NowDateTime().String()}).Execute()
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotReplayable
	}
	wakeAfter(app, delivery.GetString("endpoint"), now)
	return nil
}

// ReplayEndpoint queues again every delivery of an endpoint in status whose event happened in [since, until)
// (until zero: up to now). It returns how many were queued.
func ReplayEndpoint(app core.App, endpoint *core.Record, since, until time.Time, status string) (int64, error) {
	if !endpoint.GetBool("enabled") {
		return 0, ErrEndpointDisabled
	}
	if !slices.Contains(ReplayStatuses, status) {
		return 0, fmt.Errorf("status must be one of %s", strings.Join(ReplayStatuses, ", "))
	}
	if until.IsZero() {
		until = time.Now().Add(time.Second)
	}
	now := time.Now().UnixMilli()
	res, err := app.NonconcurrentDB().NewQuery(`UPDATE ` + collections.WebhookDeliveries + ` SET status = 'pending', attempt_base = attempts,
			next_at = {:now}, last_error = '', updated = {:u}
		WHERE status = {:st} AND endpoint = {:ep} AND event_ts >= {:since} AND event_ts < {:until}`).
		Bind(dbx.Params{"st": status, "ep": endpoint.Id, "since": since.UnixMilli(), "until": until.UnixMilli(), "now": now,
			"u": types.NowDateTime().String()}).Execute()
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		wakeAfter(app, endpoint.Id, now)
	}
	return n, nil
}

// wakeAfter tells the engine about pending deliveries once the caller's transaction (if any) commits.
func wakeAfter(app core.App, endpoint string, at int64) {
	e := Of(app)
	if e == nil {
		return
	}
	wake := func() {
		e.markDue(endpoint, at)
		e.WakeDeliver()
	}
	if tx := app.TxInfo(); tx != nil {
		tx.OnComplete(func(txErr error) error {
			if txErr == nil {
				wake()
			}
			return txErr
		})
		return
	}
	wake()
}

// SkipPending marks an endpoint's pending deliveries skipped (it was disabled); they stay replayable.
func SkipPending(app core.App, endpoint string) error {
	_, err := app.NonconcurrentDB().NewQuery(`UPDATE ` + collections.WebhookDeliveries + ` SET status = 'skipped', next_at = 0,
			last_error = 'the endpoint was disabled', updated = {:u} WHERE status = 'pending' AND endpoint = {:ep}`).
		Bind(dbx.Params{"ep": endpoint, "u": types.NowDateTime().String()}).Execute()
	return err
}

// DeleteLogs removes the deliveries and attempts of an endpoint or a workspace (one of them is set).
func DeleteLogs(app core.App, endpoint, workspace string) error {
	col, val := "endpoint", endpoint
	if endpoint == "" {
		col, val = "workspace", workspace
	}
	for _, table := range []string{collections.WebhookAttempts, collections.WebhookDeliveries} {
		if _, err := app.NonconcurrentDB().NewQuery("DELETE FROM " + table + " WHERE " + col + " = {:v}").Bind(dbx.Params{"v": val}).Execute(); err != nil {
			return err
		}
	}
	return nil
}

// Retention is how long delivery logs are kept.
const Retention = 30 * 24 * time.Hour

// Cleanup deletes finished deliveries (succeeded, dead, skipped) and attempts older than Retention.
func Cleanup(app core.App, now time.Time) error {
	cut := now.Add(-Retention).UnixMilli()
	if _, err := app.NonconcurrentDB().NewQuery("DELETE FROM " + collections.WebhookAttempts + " WHERE ts < {:cut}").Bind(dbx.Params{"cut": cut}).Execute(); err != nil {
		return err
	}
	_, err := app.NonconcurrentDB().NewQuery("DELETE FROM " + collections.WebhookDeliveries +
		" WHERE status IN ('succeeded', 'dead', 'skipped') AND event_ts < {:cut}").Bind(dbx.Params{"cut": cut}).Execute()
	return err
}
