// Command grafana-dashboard-check decodes dashboard JSON files the strict way Grafana's
// Foundation SDK does (its Go types are generated from Grafana's own dashboard schema, with the
// core panels' options and the data sources' queries registered), then runs the SDK's
// validation: an unknown or misplaced field, a wrong type or a missing required field fails.
//
//	go run ./scripts/grafana-dashboard-check docs/observability/grafana-dashboard.json
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: grafana-dashboard-check <dashboard.json>...")
		os.Exit(2)
	}
	plugins.RegisterDefaultPlugins()
	failed := false
	for _, path := range os.Args[1:] {
		if err := check(path); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

func check(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var board dashboard.Dashboard
	if err := failure(board.UnmarshalJSONStrict(raw)); err != nil {
		return fmt.Errorf("does not decode strictly: %w", err)
	}
	if err := failure(board.Validate()); err != nil {
		return fmt.Errorf("is not valid: %w", err)
	}
	fmt.Printf("%s: valid Grafana dashboard, %d panels\n", path, len(board.Panels))
	return nil
}

// failure is err, or nil for the empty cog.BuildErrors the SDK returns on success (a typed nil
// slice inside the error interface, which `err != nil` alone takes for a failure).
func failure(err error) error {
	var build cog.BuildErrors
	if errors.As(err, &build) && len(build) == 0 {
		return nil
	}
	return err
}
