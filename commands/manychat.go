package commands

import (
	"context"
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/playgram/playgram/collections"
	"github.com/playgram/playgram/crm"
	fakemc "github.com/playgram/playgram/internal/fakes/manychat"
	"github.com/playgram/playgram/internal/manychat"
	"github.com/playgram/playgram/platform"
	"github.com/playgram/playgram/seed"
	"github.com/pocketbase/pocketbase/core"
	"github.com/spf13/cobra"
)

// FakeDemoSubscribers are the ids of the contacts `playgram fake-manychat` serves; `seed --fake-manychat`
// imports them (Manychat has no "list subscribers", so the ids are known up front, like ids from pushes).
var FakeDemoSubscribers = []int64{9100000000000001, 9100000000000002, 9100000000000003, 9100000000000004, 9100000000000005}

// SeedFakeManychat fills a fake account with the demo page: tags, fields, flows and FakeDemoSubscribers.
func SeedFakeManychat(a *fakemc.Account) {
	for _, t := range []string{"vip", "lead", "customer"} {
		a.AddTag(t)
	}
	a.AddCustomField("plan", "text", "subscription plan")
	a.AddCustomField("visits", "number", "store visits")
	a.AddFlow("content20260101000000_000001", "Welcome", 0)
	a.AddFlow("content20260101000000_000002", "Booking reminder", 0)
	people := []fakemc.Subscriber{
		{FirstName: "Ana", LastName: "Souza", IGUsername: "ana.souza", Email: "ana@example.com", Tags: []string{"vip", "customer"}, Fields: map[string]any{"plan": "gold", "visits": 7}},
		{FirstName: "Bruno", LastName: "Lima", IGUsername: "bruno.lima", Tags: []string{"lead"}, Fields: map[string]any{"plan": "trial"}},
		{FirstName: "Carla", LastName: "Álvarez", IGUsername: "carla.alvarez", Phone: "+5511987654321", Tags: []string{"customer"}},
		{FirstName: "Diego", LastName: "Müller", IGUsername: "diego.m", Tags: []string{"lead"}},
		{FirstName: "Elisa", LastName: "Santos", IGUsername: "elisa.santos", Email: "elisa@example.com", Fields: map[string]any{"visits": 2}},
	}
	for i, p := range people {
		p.ID = FakeDemoSubscribers[i]
		p.LastInteraction = time.Now().Add(-time.Duration(i*5) * time.Hour)
		a.AddSubscriber(p)
	}
}

func fakeManychatCommand() *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "fake-manychat",
		Short: "Serve a fake Manychat API with a demo page (for demos and local development) until interrupted",
		RunE: func(cmd *cobra.Command, args []string) error {
			fake, err := fakemc.Listen(addr)
			if err != nil {
				return err
			}
			defer fake.Close()
			SeedFakeManychat(fake.Account)
			fmt.Fprintf(cmd.OutOrStdout(), "Fake Manychat is serving %s\n  token %s\n"+
				"Wire the demo workspace to it:  playgram seed --fake-manychat %s\n"+
				"and serve with:                 MANYCHAT_BASE_URL=%s playgram serve\nCtrl-C stops it.\n",
				fake.URL, fake.Token, fake.URL, fake.URL)
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8091", "address to listen on")
	return cmd
}

// connectFakeManychat stores the fake's token in the demo workspace, checks it like test-connection does and
// imports the demo subscribers through getInfo.
func connectFakeManychat(cmd *cobra.Command, app core.App, svc *platform.Services, baseURL, token string) error {
	client, err := manychat.New(baseURL, token, manychat.WithRetry(2, 100*time.Millisecond, time.Second))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
	defer cancel()
	page, err := client.GetPageInfo(ctx)
	if err != nil {
		return fmt.Errorf("the fake Manychat at %s did not answer (is `playgram fake-manychat` running?): %w", baseURL, err)
	}
	var subs []*manychat.Subscriber
	for _, id := range FakeDemoSubscribers {
		s, err := client.GetSubscriber(ctx, manychat.ID(id))
		if err != nil {
			return fmt.Errorf("importing demo subscriber %d: %w", id, err)
		}
		subs = append(subs, s)
	}
	actor := platform.SystemActor("cli")
	err = platform.WriteTx(app, func(tx core.App) error {
		ws, err := tx.FindFirstRecordByData(collections.Workspaces, "slug", seed.DemoSlug)
		if err != nil {
			return err
		}
		if err := crm.Connect(tx, svc, ws.Id, token, page, actor); err != nil {
			return err
		}
		for _, s := range subs {
			if _, err := crm.Upsert(tx, ws.Id, crm.Incoming{Sub: *s}, actor); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "The demo workspace is connected to the fake Manychat page %q (%s) at %s and has %d contacts from it.\n"+
		"Serve with MANYCHAT_BASE_URL=%s so syncs, actions and test-connection reach the fake.\n", page.Name, page.ID, baseURL, len(subs), baseURL)
	return nil
}
