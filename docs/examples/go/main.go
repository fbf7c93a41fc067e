// Command example walks a short troth story through the Go SDK
// (github.com/troth-app/troth/api/client): two people register, share a
// relationship, make a promise, keep it and confirm it, and read the score.
//
//	go run ./cmd/troth serve &
//	go run ./docs/examples/go -base-url http://localhost:8080
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"time"

	"github.com/troth-app/troth/api/client"
)

func main() {
	baseURL := flag.String("base-url", "http://localhost:8080", "where troth listens")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *baseURL); err != nil {
		log.Fatal(err)
	}
}

// person is a user with a client that keeps its access token fresh.
type person struct {
	name string
	id   string
	api  *client.ClientWithResponses
}

func register(ctx context.Context, baseURL string, auth *client.ClientWithResponses, name, run string) (person, error) {
	email := fmt.Sprintf("%s+%s@example.com", name, run)
	password := "example password for " + name
	res, err := auth.RegisterWithResponse(ctx, client.RegisterRequest{
		Email: email, Password: password, DisplayName: name, TimeZone: "Europe/Berlin"})
	if err != nil {
		return person{}, fmt.Errorf("register %s: %w", name, err)
	}
	if res.JSON201 == nil {
		return person{}, fmt.Errorf("register %s: %w", name, client.Check(res.HTTPResponse, res.Body))
	}
	tokens := client.NewTokens(auth, email, password)
	tokens.Set(*res.JSON201)
	api, err := client.NewClientWithResponses(baseURL, tokens.Option())
	if err != nil {
		return person{}, err
	}
	return person{name: name, id: res.JSON201.User.Id, api: api}, nil
}

func run(ctx context.Context, baseURL string) error {
	auth, err := client.NewClientWithResponses(baseURL)
	if err != nil {
		return err
	}
	tag := strconv.FormatInt(time.Now().UnixNano(), 36) // fresh emails on every run
	ana, err := register(ctx, baseURL, auth, "ana", tag)
	if err != nil {
		return err
	}
	ben, err := register(ctx, baseURL, auth, "ben", tag)
	if err != nil {
		return err
	}
	fmt.Printf("registered ana (%s) and ben (%s)\n", ana.id, ben.id)

	// A relationship; Ben joins it through an invite.
	partner := "Ben"
	rel, err := ana.api.CreateRelationshipWithResponse(ctx, nil, client.CreateRelationshipRequest{
		Name: "Ana & Ben", PartnerName: &partner, TimeZone: "Europe/Berlin"})
	if err == nil {
		err = client.Check(rel.HTTPResponse, rel.Body)
	}
	if err != nil {
		return fmt.Errorf("create relationship: %w", err)
	}
	relID := rel.JSON201.Id
	inv, err := ana.api.CreateInviteWithResponse(ctx, relID, nil)
	if err == nil {
		err = client.Check(inv.HTTPResponse, inv.Body)
	}
	if err != nil {
		return fmt.Errorf("invite: %w", err)
	}
	acc, err := ben.api.AcceptInviteWithResponse(ctx, inv.JSON201.Code, nil)
	if err == nil {
		err = client.Check(acc.HTTPResponse, acc.Body)
	}
	if err != nil {
		return fmt.Errorf("accept invite: %w", err)
	}
	fmt.Printf("relationship %s now has %d members\n", relID, len(acc.JSON200.Members))

	// A promise due half an hour ago, kept, and confirmed by Ben.
	due := time.Now().Add(-30 * time.Minute)
	prm, err := ana.api.CreatePromiseWithResponse(ctx, relID, nil, client.CreatePromiseRequest{Title: "Call mum back", DueAt: &due})
	if err == nil {
		err = client.Check(prm.HTTPResponse, prm.Body)
	}
	if err != nil {
		return fmt.Errorf("create promise: %w", err)
	}
	occs, err := ana.api.ListPromiseOccurrencesWithResponse(ctx, prm.JSON201.Id, nil)
	if err == nil {
		err = client.Check(occs.HTTPResponse, occs.Body)
	}
	if err != nil {
		return fmt.Errorf("list occurrences: %w", err)
	}
	if len(occs.JSON200.Data) != 1 {
		return fmt.Errorf("a one-off promise has %d occurrences", len(occs.JSON200.Data))
	}
	occ := occs.JSON200.Data[0]
	fmt.Printf("promise %q is due %s (occurrence %s, %s)\n", prm.JSON201.Title, occ.DueAt.Format(time.RFC3339), occ.Id, occ.Status)
	note := "called at six"
	ft, err := ana.api.RecordFollowThroughWithResponse(ctx, occ.Id, nil, client.RecordFollowThroughRequest{Outcome: "kept", Note: &note})
	if err == nil {
		err = client.Check(ft.HTTPResponse, ft.Body)
	}
	if err != nil {
		return fmt.Errorf("record follow-through: %w", err)
	}
	fmt.Printf("ana says: %s (%s)\n", ft.JSON201.Outcome, ft.JSON201.Verification)
	conf, err := ben.api.ConfirmFollowThroughWithResponse(ctx, ft.JSON201.Id, nil)
	if err == nil {
		err = client.Check(conf.HTTPResponse, conf.Body)
	}
	if err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	fmt.Printf("ben: %s\n", conf.JSON200.Verification)

	// Ana cannot confirm her own account: troth answers a problem.
	again, err := ana.api.ConfirmFollowThroughWithResponse(ctx, ft.JSON201.Id, nil)
	if err == nil {
		err = client.Check(again.HTTPResponse, again.Body)
	}
	var problem *client.ProblemError
	if errors.As(err, &problem) {
		fmt.Printf("refused as expected: %d %s\n", problem.Status, problem.Code)
	} else {
		return fmt.Errorf("confirming one's own account: want a problem, got %v", err)
	}

	// Scores, and the event feed paged to its end.
	sc, err := ben.api.GetMemberScoreWithResponse(ctx, relID, ana.id, nil)
	if err == nil {
		err = client.Check(sc.HTTPResponse, sc.Body)
	}
	if err != nil {
		return fmt.Errorf("score: %w", err)
	}
	fmt.Printf("ana's score: %.4f (%s), %d kept\n", sc.JSON200.Score, sc.JSON200.Level, sc.JSON200.Counts.Kept)
	limit := 2
	n := 0
	for e, err := range client.All(ctx, func(after *string) ([]client.Event, *string, error) {
		res, err := ben.api.ListEventsWithResponse(ctx, &client.ListEventsParams{After: after, Limit: &limit})
		if err == nil {
			err = client.Check(res.HTTPResponse, res.Body)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("events: %w", err)
		}
		if !res.JSON200.HasMore {
			return res.JSON200.Data, nil, nil
		}
		return res.JSON200.Data, &res.JSON200.NextCursor, nil
	}) {
		if err != nil {
			return err
		}
		n++
		fmt.Printf("event %2d: %s\n", n, e.Type)
	}
	return nil
}
